import { PromptopsError } from '@promptops/core';
import { httpError } from './errors.js';
import { linkedAbort } from './timers.js';

/** The few requests the SDK makes, with the key, a timeout and the server's errors as PromptopsErrors. */

export type FetchLike = (input: string, init: RequestInit) => Promise<Response>;

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

const timeoutError = (baseUrl: string, path: string, ms: number, method = 'GET'): PromptopsError =>
  new PromptopsError('internal', 'server_timeout', `${method} ${baseUrl}${path} did not answer within ${ms} ms`, {
    fix: 'check the server; the client keeps serving what it has and retries',
  });
