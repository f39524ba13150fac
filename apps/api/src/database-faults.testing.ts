/**
 * For the database fault tests: an embedded PostgreSQL of the test's own (never the suite's
 * shared one, which other test files use meanwhile), pausing it, and sending messages
 * through the API with retries the way a client does.
 */
import { startEmbeddedPostgres, type RunningPostgres } from '@herald/database';
import type { NestFastifyApplication } from '@nestjs/platform-fastify';
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { apiOf } from './test-client.js';
import type { TestUser } from './test-app.js';

/** A supervised embedded PostgreSQL under `dataDir`; what its supervisor said. */
export async function ownPostgres(
  dataDir: string,
  restartTimeoutMs?: number,
): Promise<{ server: RunningPostgres; clusterDir: string; said: string[] }> {
  const said: string[] = [];
  const server = await startEmbeddedPostgres({
    dataDir,
    persistent: false,
    supervise: {
      ...(restartTimeoutMs ? { restartTimeoutMs } : {}),
      onWaitingForSpace: (reason) => said.push(`waiting: ${reason}`),
      onCrash: (reason) => said.push(`crash: ${reason}`),
      onShutdown: (reason) => said.push(`shutdown: ${reason}`),
      onRestarted: (ms) => said.push(`restarted after ${ms} ms`),
      onGiveUp: (reason) => said.push(`gave up: ${reason}`),
    },
  });
  return { server, clusterDir: join(dataDir, 'pg'), said };
}

async function postmasterPid(clusterDir: string): Promise<number> {
  return Number((await readFile(join(clusterDir, 'postmaster.pid'), 'utf8')).split('\n')[0]);
}

/** The processes whose parent is `pid`, read from /proc. */
async function childrenOf(pid: number): Promise<number[]> {
  const children: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // pid (comm) state ppid ...: comm may hold spaces and parentheses, so read after the last ')'.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) children.push(Number(entry));
  }
  return children;
}

/**
 * Pauses the whole server as a frozen machine would: the postmaster first (so it starts no
 * new backend), then every process it started (backends, checkpointer, WAL writer...).
 * Stopping only the postmaster would leave existing connections answering. Returns the
 * paused pids, for `resume`.
 */
export async function pause(clusterDir: string): Promise<number[]> {
  return (await pauser(clusterDir))();
}

/**
 * `pause` in two steps: the processes are listed now (reading /proc takes a while), and
 * the function returned stops them at once, then any started since.
 */
export async function pauser(clusterDir: string): Promise<() => Promise<number[]>> {
  const postmaster = await postmasterPid(clusterDir);
  const children = await childrenOf(postmaster);
  return async () => {
    process.kill(postmaster, 'SIGSTOP');
    for (const pid of children) process.kill(pid, 'SIGSTOP');
    const late = (await childrenOf(postmaster)).filter((pid) => !children.includes(pid));
    for (const pid of late) process.kill(pid, 'SIGSTOP');
    return [postmaster, ...children, ...late];
  };
}

export function resume(pids: readonly number[]): void {
  for (const pid of [...pids].reverse()) {
    try {
      process.kill(pid, 'SIGCONT');
    } catch {
      // Gone meanwhile.
    }
  }
}

export interface Answer {
  readonly status: number;
  readonly code: string | undefined;
  readonly retryAfter: string | null;
  readonly ms: number;
}

/** Sends `text` as a message with `clientMessageId`; the answer and how long it took. */
export async function send(
  app: NestFastifyApplication,
  who: TestUser,
  conversationId: string,
  clientMessageId: string,
  text: string,
): Promise<Answer> {
  const started = performance.now();
  const { response, error } = await apiOf(app, who).POST('/conversations/{id}/messages', {
    params: { path: { id: conversationId } },
    body: { clientMessageId, text },
  });
  return {
    status: response.status,
    code: (error as { error?: { code?: string } } | undefined)?.error?.code,
    retryAfter: response.headers.get('retry-after'),
    ms: Math.round(performance.now() - started),
  };
}

/** Sends until acknowledged (2xx), with the same clientMessageId each time, as a client retries. */
export async function sendUntilAcknowledged(
  app: NestFastifyApplication,
  who: TestUser,
  conversationId: string,
  clientMessageId: string,
  text: string,
  deadline: number,
  seen: Answer[],
): Promise<boolean> {
  while (performance.now() < deadline) {
    const answer = await send(app, who, conversationId, clientMessageId, text);
    seen.push(answer);
    if (answer.status < 300) return true;
    await new Promise((r) => setTimeout(r, 250));
  }
  return false;
}

/** `GET /health/ready` and how long it took. */
export async function ready(app: NestFastifyApplication): Promise<{ status: number; ms: number }> {
  const started = performance.now();
  const { response } = await apiOf(app).GET('/health/ready');
  return { status: response.status, ms: Math.round(performance.now() - started) };
}

/** Every message text of the conversation, paging through its timeline from the start. */
export async function texts(app: NestFastifyApplication, who: TestUser, conversationId: string): Promise<string[]> {
  const all: string[] = [];
  let since = '-1';
  for (;;) {
    const { data, response } = await apiOf(app, who).GET('/conversations/{id}/messages', {
      params: { path: { id: conversationId }, query: { since, limit: '100' } },
    });
    if (!data) throw new Error(`timeline: ${response.status}`);
    all.push(...data.messages.map((m) => m.text));
    if (data.nextCursor === null) return all;
    since = String(data.nextCursor);
  }
}
