import { PassThrough, type Readable } from 'node:stream';
import { createGunzip } from 'node:zlib';

/**
 * Ingest bodies are read against a deadline and a minimum rate, so a client that trickles (or stalls)
 * holds its read slot for a bounded time and is answered 408, instead of holding server resources for as
 * long as it likes. One timer per body, re-armed only when it fires: nothing is done per chunk but count.
 */

export interface BodyDeadline {
  /** The whole body must have arrived this long after its reading started. */
  readonly timeoutMs: number;
  /** From `graceMs` on, the average rate since the start must stay at least this; 0 checks no rate. */
  readonly minBytesPerSecond: number;
  readonly graceMs: number;
}

export const DEFAULT_BODY_DEADLINE: BodyDeadline = { timeoutMs: 60_000, minBytesPerSecond: 1024, graceMs: 5_000 };

/** Fastify answers a body stream's error with its `statusCode`; the ingest error handler words it. */
export class BodyTimeoutError extends Error {
  readonly statusCode = 408;
}

export interface GuardedBody {
  /** What Fastify reads: the body (inflated when gzip), or an error when it came too slowly. */
  readonly stream: Readable;
  /** Clears the timer (the response ended, whichever way). */
  stop(): void;
}

/** Wraps the request's payload; counts raw bytes (`receivedEncodedLength`, as Fastify expects for gzip). */
export const guardBody = (payload: NodeJS.ReadableStream, gzip: boolean, deadline: BodyDeadline): GuardedBody => {
  const { timeoutMs, minBytesPerSecond, graceMs } = deadline;
  const out = Object.assign(new PassThrough(), { receivedEncodedLength: 0 });
  const gunzip = gzip ? createGunzip() : undefined;
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;

  const stop = (): void => {
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
  };
  const fail = (error: Error): void => {
    stop();
    gunzip?.destroy();
    out.destroy(error);
  };
  const check = (): void => {
    const elapsed = performance.now() - started;
    if (elapsed >= timeoutMs) {
      fail(new BodyTimeoutError(`the request body did not arrive within ${timeoutMs} ms`));
      return;
    }
    const received = out.receivedEncodedLength;
    if (minBytesPerSecond > 0 && elapsed >= graceMs && received < (minBytesPerSecond * elapsed) / 1000) {
      fail(new BodyTimeoutError(`the request body arrived slower than ${minBytesPerSecond} bytes/s`));
      return;
    }
    // Next: when the average falls to the minimum if nothing more arrives, or the deadline.
    const rateDue = minBytesPerSecond > 0 ? Math.max(graceMs, (received * 1000) / minBytesPerSecond) : Infinity;
    timer = setTimeout(check, Math.max(1, Math.min(timeoutMs, rateDue) - elapsed));
  };

  payload.on('data', (chunk: Buffer) => {
    out.receivedEncodedLength += chunk.length;
  });
  // A client that goes away mid-body ends the read here (pipe does not forward errors).
  payload.on('error', fail);
  if (gunzip === undefined) payload.pipe(out);
  else {
    gunzip.on('error', fail);
    payload.pipe(gunzip).pipe(out);
  }
  out.on('end', stop);
  out.on('close', stop);
  check();
  return { stream: out, stop };
};
