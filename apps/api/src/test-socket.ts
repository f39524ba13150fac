/**
 * For the API's end-to-end tests: a WebSocket client of `/ws` that keeps every frame it
 * receives, and the handshake's answer when the server refuses it. Every frame received is
 * checked against the protocol (push/frames.ts), so every test that opens a socket checks
 * that the server says nothing the protocol (and its AsyncAPI document) does not.
 */
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { ServerFrame } from './push/frames.js';

export interface Frame {
  type: string;
  conversationId?: string;
  seq?: number;
  code?: string;
  userId?: string;
  event?: { type: string; data: Record<string, unknown> };
  users?: PresenceFrameUser[];
}

export interface PresenceFrameUser {
  userId: string;
  online: boolean;
  lastSeenAt: string | null;
}

export interface TestSocket {
  readonly ws: WebSocket;
  /** Every frame received, in order. */
  readonly frames: Frame[];
  /** Resolves with the close code. */
  readonly closed: Promise<number>;
  /** Sends a frame as JSON (a string as it is). */
  send(frame: object | string): void;
}

/** Listens on a free loopback port; answers `host:port`. */
export async function listen(app: NestFastifyApplication): Promise<string> {
  await app.listen({ port: 0, host: '127.0.0.1' });
  return `127.0.0.1:${(app.getHttpServer().address() as { port: number }).port}`;
}

/** A socket open on `address` (`host:port`) as the holder of `token`. */
export async function openSocket(
  address: string,
  token: string,
  headers: Record<string, string> = {},
): Promise<TestSocket> {
  const ws = new WebSocket(`ws://${address}/ws`, { headers: { authorization: `Bearer ${token}`, ...headers } });
  const frames: Frame[] = [];
  ws.on('message', (data: Buffer) => frames.push(checked(JSON.parse(data.toString()))));
  const closed = new Promise<number>((resolve) => ws.on('close', (code) => resolve(code)));
  await new Promise<void>((resolve, reject) => {
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
  const send = (frame: object | string): void => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame));
  return { ws, frames, closed, send };
}

/**
 * The frame, if the protocol has it. Thrown otherwise, from the socket's listener: the run
 * fails with an unhandled error naming the frame, whichever test received it.
 */
function checked(frame: unknown): Frame {
  const parsed = ServerFrame.safeParse(frame);
  if (!parsed.success) {
    throw new Error(
      `the server sent a frame outside the protocol (push/frames.ts): ${JSON.stringify(frame)}\n${z.prettifyError(parsed.error)}`,
    );
  }
  return frame as Frame;
}

/** The handshake's HTTP status: 101 when the socket opens, else the refusal's. */
export function handshake(url: string, headers: Record<string, string>): Promise<number> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url, { headers });
    ws.on('unexpected-response', (_, response) => resolve(response.statusCode ?? 0));
    ws.on('open', () => {
      resolve(101);
      ws.close();
    });
    ws.on('error', () => undefined);
  });
}

export async function hangUp(socket: TestSocket): Promise<void> {
  socket.ws.close();
  await socket.closed;
}
