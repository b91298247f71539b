import { PromptopsError } from '@promptops/core/errors';
import { httpError } from './errors.js';
import { linkedAbort } from './timers.js';

/** The few requests the SDK makes, with the key, a timeout and the server's errors as PromptopsErrors. */

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

/**
 * Asked for explicitly: Node's fetch offers only `gzip, deflate` by itself, though it decodes `br` too
 * (as browsers do), and brotli is the smaller.
 */
export const ACCEPT_ENCODING = 'br, gzip';

/** A conditional GET's answer: the document and its ETag, or `undefined` for 304 Not Modified. */
export type Revalidated<T> = { readonly data: T; readonly etag: string | null } | undefined;

export class Http {
  constructor(
    /** Base URL without a trailing slash. */
    readonly baseUrl: string,
    private readonly apiKey: string,
    private readonly fetchImpl: FetchLike,
    private readonly timeoutMs: number,
  ) {}

  /** GET a JSON document; rejects with a PromptopsError (code `server_unreachable`, `server_timeout` or the server's). */
  async json<T>(path: string, signal: AbortSignal, timeoutMs = this.timeoutMs): Promise<T> {
    const link = linkedAbort(signal, timeoutMs, () => timeoutError(this.baseUrl, path, timeoutMs));
    try {
      const response = await this.send(path, { accept: 'application/json' }, link.signal);
      const text = await response.text();
      if (!response.ok) throw httpError(response.status, text, `GET ${path}`);
      try {
        return JSON.parse(text) as T;
      } catch {
        throw new PromptopsError('internal', 'invalid_response', `GET ${path}: the server answered with invalid JSON`, {
          fix: `check that ${this.baseUrl} is a promptops server`,
        });
      }
    } catch (error) {
      throw this.failure(error, path, link.signal);
    } finally {
      link.dispose();
    }
  }

  /**
   * GET a JSON document compressed when the server can, and conditional when `etag` is given: resolves
   * undefined when the server answers 304 (what the caller holds is current). Rejects like `json`.
   */
  async revalidate<T>(
    path: string,
    etag: string | undefined,
    signal: AbortSignal,
    timeoutMs = this.timeoutMs,
  ): Promise<Revalidated<T>> {
    const link = linkedAbort(signal, timeoutMs, () => timeoutError(this.baseUrl, path, timeoutMs));
    const headers: Record<string, string> = { accept: 'application/json', 'accept-encoding': ACCEPT_ENCODING };
    if (etag !== undefined) headers['if-none-match'] = etag;
    try {
      const response = await this.send(path, headers, link.signal);
      if (response.status === 304) {
        await response.body?.cancel();
        return undefined;
      }
      const text = await bodyText(response);
      if (!response.ok) throw httpError(response.status, text, `GET ${path}`);
      try {
        return { data: JSON.parse(text) as T, etag: response.headers.get('etag') };
      } catch {
        throw new PromptopsError('internal', 'invalid_response', `GET ${path}: the server answered with invalid JSON`, {
          fix: `check that ${this.baseUrl} is a promptops server (and that a fetch given to the client decodes Content-Encoding)`,
        });
      }
    } catch (error) {
      throw this.failure(error, path, link.signal);
    } finally {
      link.dispose();
    }
  }

  /** Opens a streaming GET (the caller reads and owns the body); rejects like `json` on failure. */
  async stream(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    try {
      const response = await this.send(path, headers, signal);
      if (!response.ok) throw httpError(response.status, await response.text(), `GET ${path}`);
      if (response.body === null) {
        throw new PromptopsError('internal', 'invalid_response', `GET ${path}: the response has no body`);
      }
      return response;
    } catch (error) {
      throw this.failure(error, path, signal);
    }
  }

  /**
   * POSTs a JSON body and returns the answer whatever its status (the caller decides what to retry);
   * rejects only when no answer came: `server_unreachable` (details.cause: the socket error code, e.g.
   * ECONNREFUSED) or `server_timeout`.
   */
  async post(path: string, body: string, signal: AbortSignal, timeoutMs = this.timeoutMs): Promise<PostResult> {
    const link = linkedAbort(signal, timeoutMs, () => timeoutError(this.baseUrl, path, timeoutMs, 'POST'));
    try {
      const response = await this.send(
        path,
        { accept: 'application/json', 'content-type': 'application/json' },
        link.signal,
        body,
      );
      const text = await response.text();
      return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
    } catch (error) {
      throw this.failure(error, path, link.signal, 'POST');
    } finally {
      link.dispose();
    }
  }

  private send(path: string, headers: Record<string, string>, signal: AbortSignal, body?: string): Promise<Response> {
    return this.fetchImpl(`${this.baseUrl}${path}`, {
      method: body === undefined ? 'GET' : 'POST',
      headers: { authorization: `Bearer ${this.apiKey}`, ...headers },
      signal,
      ...(body === undefined ? {} : { body }),
    });
  }

  private failure(error: unknown, path: string, signal: AbortSignal, method = 'GET'): unknown {
    if (error instanceof PromptopsError) return error;
    if (signal.aborted && signal.reason instanceof PromptopsError) return signal.reason;
    if (signal.aborted) return error; // closed by the caller: not a server problem
    const cause = error instanceof Error ? (error.cause as (Error & { code?: unknown }) | undefined) : undefined;
    const message = cause?.message ?? (error instanceof Error ? error.message : String(error));
    return new PromptopsError(
      'internal',
      'server_unreachable',
      `cannot reach ${this.baseUrl} (${method} ${path}): ${message}`,
      {
        fix: 'check the url and that the promptops server is running; the client keeps serving what it has and retries',
        ...(typeof cause?.code === 'string' ? { details: { cause: cause.code } } : {}),
      },
    );
  }
}

export interface PostResult {
  readonly status: number;
  readonly retryAfter: string | null;
  readonly text: string;
}

const utf8 = new TextDecoder();

/** `{` or `[` after optional whitespace: a JSON document, not compressed bytes. */
const looksLikeJson = (bytes: Uint8Array): boolean => {
  for (const byte of bytes) {
    if (byte === 0x7b || byte === 0x5b) return true;
    if (byte !== 0x20 && byte !== 0x0a && byte !== 0x0d && byte !== 0x09) return false;
  }
  return false;
};

/**
 * The body as text. The standard fetch (Node's, browsers') has already decoded gzip and br; a fetch
 * given in the options may not have, and then node:zlib decodes it here.
 */
const bodyText = async (response: Response): Promise<string> => {
  const bytes = new Uint8Array(await response.arrayBuffer());
  const coding = response.headers.get('content-encoding')?.trim().toLowerCase();
  if (coding === undefined || coding === 'identity' || looksLikeJson(bytes)) return utf8.decode(bytes);
  if (coding !== 'gzip' && coding !== 'br') return utf8.decode(bytes);
  const zlib = await import('node:zlib').catch(() => {
    throw new PromptopsError(
      'internal',
      'invalid_response',
      `the answer is ${coding}-encoded and the fetch did not decode it`,
      {
        fix: 'give the client a fetch that decodes Content-Encoding (the standard fetch does)',
      },
    );
  });
  const decode = coding === 'gzip' ? zlib.gunzipSync : zlib.brotliDecompressSync;
  return utf8.decode(decode(bytes));
};

const timeoutError = (baseUrl: string, path: string, ms: number, method = 'GET'): PromptopsError =>
  new PromptopsError('internal', 'server_timeout', `${method} ${baseUrl}${path} did not answer within ${ms} ms`, {
    fix: 'check the server; the client keeps serving what it has and retries',
  });
