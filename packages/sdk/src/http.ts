import { PromptopsError } from '@promptops/core/errors';
import { ApiError, HttpClient, type NoAnswer } from '@promptops/core/http-client';

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
  readonly #client: HttpClient<Response>;

  constructor(
    /** Base URL without a trailing slash. */
    readonly baseUrl: string,
    apiKey: string,
    fetchImpl: FetchLike,
    timeoutMs: number,
  ) {
    this.#client = new HttpClient({ baseUrl, apiKey, fetch: fetchImpl, timeoutMs, noAnswer, onError: withStatus });
  }

  /** GET a JSON document; rejects with a PromptopsError (code `server_unreachable`, `server_timeout` or the server's). */
  json<T>(path: string, signal: AbortSignal, timeoutMs?: number): Promise<T> {
    return this.#client.json<T>('GET', path, { signal, timeoutMs });
  }

  /**
   * GET a JSON document compressed when the server can, and conditional when `etag` is given: resolves
   * undefined when the server answers 304 (what the caller holds is current). Rejects like `json`.
   */
  async revalidate<T>(
    path: string,
    etag: string | undefined,
    signal: AbortSignal,
    timeoutMs?: number,
  ): Promise<Revalidated<T>> {
    const headers: Record<string, string> = { 'accept-encoding': ACCEPT_ENCODING };
    if (etag !== undefined) headers['if-none-match'] = etag;
    const { response, text } = await this.#client.read('GET', path, { headers, signal, timeoutMs }, (answer) =>
      answer.status === 304 ? (answer.body?.cancel() ?? Promise.resolve()).then(() => '') : bodyText(answer),
    );
    if (response.status === 304) return undefined;
    if (!response.ok) throw this.#client.error('GET', path, response, text);
    try {
      return { data: JSON.parse(text) as T, etag: response.headers.get('etag') };
    } catch {
      throw new PromptopsError('internal', 'invalid_response', `GET ${path}: the server answered with invalid JSON`, {
        fix: `check that ${this.baseUrl} is a promptops server (and that a fetch given to the client decodes Content-Encoding)`,
      });
    }
  }

  /** Opens a streaming GET (the caller reads and owns the body); rejects like `json` on failure. */
  async stream(path: string, headers: Record<string, string>, signal: AbortSignal): Promise<Response> {
    const response = await this.#client.open('GET', path, { headers, signal });
    if (response.body === null) {
      throw new PromptopsError('internal', 'invalid_response', `GET ${path}: the response has no body`);
    }
    return response;
  }

  /**
   * POSTs a JSON body and returns the answer whatever its status (the caller decides what to retry);
   * rejects only when no answer came: `server_unreachable` (details.cause: the socket error code, e.g.
   * ECONNREFUSED) or `server_timeout`.
   */
  async post(path: string, body: string, signal: AbortSignal, timeoutMs?: number): Promise<PostResult> {
    const { response, text } = await this.#client.read('POST', path, { body, signal, timeoutMs });
    return { status: response.status, retryAfter: response.headers.get('retry-after'), text };
  }
}

/** The SDK's wording when no answer came: the client keeps serving what it has. */
const noAnswer = (failure: NoAnswer): PromptopsError => {
  const { method, path, baseUrl, timeoutMs } = failure;
  if (timeoutMs !== undefined) {
    return new PromptopsError(
      'internal',
      'server_timeout',
      `${method} ${baseUrl}${path} did not answer within ${timeoutMs} ms`,
      { fix: 'check the server; the client keeps serving what it has and retries' },
    );
  }
  return new PromptopsError(
    'internal',
    'server_unreachable',
    `cannot reach ${baseUrl} (${method} ${path}): ${failure.message}`,
    {
      fix: 'check the url and that the promptops server is running; the client keeps serving what it has and retries',
      ...(failure.cause === undefined ? {} : { details: { cause: failure.cause } }),
    },
  );
};

/** Error answers keep their status in `details` too: the client tells refusals from outages by it. */
const withStatus = (error: ApiError): ApiError =>
  new ApiError(error.status, error.code, error.message, {
    kind: error.kind,
    details: { ...error.details, status: error.status },
    ...(error.fix === undefined ? {} : { fix: error.fix }),
    ...(error.issues === undefined ? {} : { issues: error.issues }),
    ...(error.retryAfterSeconds === undefined ? {} : { retryAfterSeconds: error.retryAfterSeconds }),
  });

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
