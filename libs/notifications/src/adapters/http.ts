/**
 * HTTP/1.1 requests to URLs users gave (webhooks, Web Push endpoints), with keep-alive and
 * the SSRF rule applied when connecting: the name is resolved and every address it
 * resolves to must be public, unless its `host:port` is allowed (WEBHOOK_ALLOWED_HOSTS).
 * A user's URL never reaches a log, its host included (a host can be a secret as well as a
 * path can): errors say what failed (Node's error code, or our own reason), never where.
 */
import { lookup as dnsLookup, type LookupAddress } from 'node:dns';
import { Agent as HttpAgent, request as httpRequest, type IncomingHttpHeaders } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { LookupFunction } from 'node:net';
import { isPublicAddress, refuseUrl, type UrlPolicy } from '../targets.js';

export interface Answer {
  readonly status: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: string;
}

/** A request that did not get an answer: refused address, connection trouble, timeout. */
export class RequestFailed extends Error {
  constructor(
    message: string,
    /** The URL itself may not be used (SSRF rule): retrying will not help. */
    readonly refused = false,
  ) {
    super(message);
    this.name = 'RequestFailed';
  }
}

/** Answers longer than this are cut: only error codes are read from them. */
const MAX_ANSWER_BYTES = 16_384;

export class SafeHttp {
  // Per origin: a bot's endpoint takes many notifications at once.
  private readonly http = new HttpAgent({ keepAlive: true, maxSockets: 128 });
  private readonly https = new HttpsAgent({ keepAlive: true, maxSockets: 128 });

  constructor(
    private readonly policy: UrlPolicy,
    private readonly timeoutMs = 5_000,
  ) {}

  post(url: string, headers: Record<string, string>, body: Buffer | string): Promise<Answer> {
    const problem = refuseUrl(url, this.policy);
    if (problem) return Promise.reject(new RequestFailed(`target refused: ${problem}`, true));
    const target = new URL(url);
    const allowed = this.policy.allowedHosts.includes(target.host.toLowerCase());
    const secure = target.protocol === 'https:';
    return new Promise<Answer>((resolve, reject) => {
      // The whole exchange, answer included, within the timeout: an idle timeout alone lets a
      // receiver that sends a byte now and then (or an endless answer) hold a delivery slot
      // for as long as it likes.
      const deadline = setTimeout(
        () => request.destroy(new Error(`no complete answer within ${this.timeoutMs} ms`)),
        this.timeoutMs,
      );
      const settle = (outcome: () => void): void => {
        clearTimeout(deadline);
        outcome();
      };
      const request = (secure ? httpsRequest : httpRequest)(
        target,
        {
          method: 'POST',
          agent: secure ? this.https : this.http,
          headers: { ...headers, 'content-length': String(Buffer.byteLength(body)) },
          timeout: this.timeoutMs,
          lookup: allowed ? undefined : publicOnlyLookup,
        },
        (response) => {
          const chunks: Buffer[] = [];
          let bytes = 0;
          const answer = (): Answer => ({
            status: response.statusCode ?? 0,
            headers: response.headers,
            body: Buffer.concat(chunks).subarray(0, MAX_ANSWER_BYTES).toString('utf8'),
          });
          response.on('data', (chunk: Buffer) => {
            chunks.push(chunk);
            bytes += chunk.length;
            // Enough to read an error code from: the rest is not waited for.
            if (bytes >= MAX_ANSWER_BYTES) {
              settle(() => resolve(answer()));
              response.destroy();
            }
          });
          response.on('end', () => settle(() => resolve(answer())));
          response.on('error', (error) =>
            settle(() => reject(new RequestFailed(`the answer failed: ${whatFailed(error)}`))),
          );
        },
      );
      request.on('timeout', () => request.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      request.on('error', (error: Error & { refused?: boolean }) =>
        settle(() => reject(new RequestFailed(`the request failed: ${whatFailed(error)}`, error.refused === true))),
      );
      request.end(body);
    });
  }

  close(): void {
    this.http.destroy();
    this.https.destroy();
  }
}

/**
 * What went wrong, without where: Node's messages name the host or address (`getaddrinfo
 * ENOTFOUND <host>`, `connect ECONNREFUSED <address>`), so a system error is told by its
 * code; Herald's own errors (timeouts, the SSRF refusal) name no target and are told as they are.
 */
function whatFailed(error: Error & { code?: unknown }): string {
  return typeof error.code === 'string' ? error.code : error.message;
}

/** dns.lookup, refusing names that resolve to a non-public address (checked on every connection). */
const publicOnlyLookup: LookupFunction = (hostname, options, callback) => {
  dnsLookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
    if (error) return callback(error, '', 0);
    const refused = addresses.find((a) => !isPublicAddress(a.address));
    if (refused || addresses.length === 0) {
      const failure = Object.assign(new Error('the name resolves to a non-public address'), { refused: true });
      return callback(failure, '', 0);
    }
    if (options.all) return (callback as unknown as (e: null, a: LookupAddress[]) => void)(null, addresses);
    const first = addresses[0]!;
    return callback(null, first.address, first.family);
  });
};
