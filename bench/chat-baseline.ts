/**
 * The baseline `bench:chat` compares Herald with: the transport alone. A bare node:http +
 * `ws` server speaking just enough of Herald's protocol for the same load generator: a
 * socket's `sync` subscribes it to conversations, and `POST /conversations/:id/messages`
 * broadcasts an event frame to that conversation's sockets, then answers. No
 * authentication, validation, event store, projections or seq checks: what is left is
 * HTTP, JSON and `ws` on this machine. Runs as its own process; PORT (required).
 */
import { createServer } from 'node:http';
import { randomUUID } from 'node:crypto';
import { WebSocket, WebSocketServer } from 'ws';

const subscribers = new Map<string, Set<WebSocket>>();
const seqs = new Map<string, number>();

const server = createServer((request, response) => {
  const match = /^\/conversations\/([^/]+)\/messages$/.exec(request.url ?? '');
  if (request.method !== 'POST' || !match) {
    response.writeHead(404).end();
    return;
  }
  const conversationId = match[1]!;
  const chunks: Buffer[] = [];
  request.on('data', (chunk: Buffer) => chunks.push(chunk));
  request.on('end', () => {
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text: string };
    const seq = (seqs.get(conversationId) ?? 0) + 1;
    seqs.set(conversationId, seq);
    const messageId = randomUUID();
    const frame = Buffer.from(
      JSON.stringify({
        type: 'event',
        conversationId,
        seq,
        event: { eventId: randomUUID(), type: 'MessageSent', data: { conversationId, messageId, text: body.text } },
      }),
    );
    for (const socket of subscribers.get(conversationId) ?? []) socket.send(frame);
    response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify({ messageId, seq }));
  });
});

const wss = new WebSocketServer({ server, path: '/ws' });
wss.on('connection', (socket) => {
  socket.on('message', (data) => {
    const frame = JSON.parse((data as Buffer).toString('utf8')) as {
      type: string;
      conversations: Record<string, number>;
    };
    if (frame.type !== 'sync') return;
    for (const conversationId of Object.keys(frame.conversations)) {
      const set = subscribers.get(conversationId) ?? new Set();
      set.add(socket);
      subscribers.set(conversationId, set);
      socket.send(JSON.stringify({ type: 'synced', conversationId, seq: seqs.get(conversationId) ?? 0 }));
    }
  });
  socket.on('close', () => {
    for (const set of subscribers.values()) set.delete(socket);
  });
});

server.listen(Number(process.env.PORT), '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));
