import { PromptopsError } from './errors.js';
import { ApiError, errorFromHttpAnswer, type HttpErrorContext } from './http-error.js';

export { ApiError };

/**
 * `@promptops/core/http-client`: the typed HTTP client the SDK, the CLI and the dashboard share: base
 * URL, Bearer key, JSON in and out, a timeout linked to the caller's signal, and error answers decoded
 * by `errorFromHttpAnswer`. It takes `fetch` from the platform (or any function of that shape, e.g. the
 * CLI's node:http transport) and imports nothing from Node, so browsers can use it too.
 */

/** The part of a fetch Response the client reads; a standard Response has it. */
export interface HttpAnswer {
  readonly ok: boolean;
  readonly status: number;
  readonly headers: { get(name: string): string | null };
  text(): Promise<string>;
}

export interface HttpInit {
  readonly method: string;
  readonly headers: Readonly<Record<string, string>>;
  readonly body?: string;
  readonly signal?: AbortSignal;
}

export type HttpFetch<R extends HttpAnswer = HttpAnswer> = (url: string, init: HttpInit) => Promise<R>;

export type HttpQuery = Readonly<Record<string, string | number | readonly string[] | undefined>>;

/** Why no answer came: the client's `noAnswer` option turns it into the error thrown. */
export interface NoAnswer {
  readonly method: string;
  readonly path: string;
  readonly baseUrl: string;
  /** Set when the client's timeout fired (not the caller's signal). */
  readonly timeoutMs: number | undefined;
  /** The socket's error code when fetch gave one (e.g. ECONNREFUSED). */
  readonly cause: string | undefined;
  readonly message: string;
}

export interface HttpClientOptions<R extends HttpAnswer> {
  /** Prefixed to every path, without a trailing slash: `http://host:4680/api/v1`, or `/api/v1` in a page. */
  readonly baseUrl: string;
  readonly apiKey?: string | undefined;
  readonly fetch: HttpFetch<R>;
  /** Per request, until its body is read (not for `open`). Default: none. */
  readonly timeoutMs?: number | undefined;
  /** The error for a request that got no answer. Default: `server_unreachable` or `server_timeout`. */
  readonly noAnswer?: ((failure: NoAnswer) => unknown) | undefined;
  /** How to describe an error answer whose body is no promptops error (its code, message, fix). */
  readonly errorContext?:
    ((method: string, path: string, status: number, text: string) => HttpErrorContext) | undefined;
  /** Sees every decoded error answer and may replace it (e.g. a better fix for a 401 without a key). */
  readonly onError?: ((error: ApiError) => ApiError | void) | undefined;
}

export interface RequestOptions {
  readonly query?: HttpQuery | undefined;
  /** Sent as JSON (undefined fields dropped, as optional fields mean). */
  readonly json?: unknown;
  /** A JSON body already serialized (wins over `json`). */
  readonly body?: string | undefined;
  readonly headers?: Readonly<Record<string, string>> | undefined;
  readonly signal?: AbortSignal | undefined;
  /** Overrides the client's timeout for this request. */
  readonly timeoutMs?: number | undefined;
}

/** An answer whatever its status, body read: for callers that decide themselves what a status means. */
export interface ReadAnswer<R extends HttpAnswer> {
  readonly response: R;
  readonly text: string;
}

/** `key=value&…`, a list repeating its key (`suite=a&suite=b`); undefined values are left out. */
export const queryString = (query: HttpQuery = {}): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value === undefined) continue;
    if (Array.isArray(value)) for (const item of value as readonly string[]) params.append(key, item);
    else params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
};

export const defaultNoAnswer = (failure: NoAnswer): PromptopsError => {
  const { method, path, baseUrl, timeoutMs, cause, message } = failure;
  if (timeoutMs !== undefined) {
    return new PromptopsError(
      'internal',
      'server_timeout',
      `${method} ${baseUrl}${path} did not answer within ${timeoutMs} ms`,
      {
        fix: 'check that the promptops server is running and reachable',
      },
    );
  }
  return new PromptopsError(
    'internal',
    'server_unreachable',
    `cannot reach ${baseUrl} (${method} ${path}): ${message}`,
    {
      fix: 'check the url and that the promptops server is running',
      ...(cause === undefined ? {} : { details: { cause } }),
    },
  );
};

/** Marks the abort the client's own timer caused, so it is told from the caller's. */
class TimedOut {
  constructor(readonly ms: number) {}
}

/** An AbortController following `parent` and, when `ms` is given, a timer (unref'd where the runtime can). */
const linked = (parent: AbortSignal | undefined, ms: number | undefined) => {
  const controller = new AbortController();
  const follow = (): void => controller.abort(parent?.reason);
  if (parent?.aborted === true) follow();
  else parent?.addEventListener('abort', follow, { once: true });
  const timer = ms === undefined ? undefined : setTimeout(() => controller.abort(new TimedOut(ms)), ms);
  (timer as { unref?: () => void } | undefined)?.unref?.();
  return {
    signal: controller.signal,
    dispose: () => {
      if (timer !== undefined) clearTimeout(timer);
      parent?.removeEventListener('abort', follow);
    },
  };
};

export class HttpClient<R extends HttpAnswer = HttpAnswer> {
  readonly baseUrl: string;
  readonly #options: HttpClientOptions<R>;

  constructor(options: HttpClientOptions<R>) {
    this.baseUrl = options.baseUrl;
    this.#options = options;
  }

  /** Whether requests carry a key. */
  get hasKey(): boolean {
    return this.#options.apiKey !== undefined;
  }

  /**
   * Sends a request and reads its body, within the timeout; resolves whatever the status. Rejects only
   * when no answer came (`noAnswer`), or with the caller's abort reason.
   */
  async read(
    method: string,
    path: string,
    options: RequestOptions = {},
    readBody: (response: R) => Promise<string> = (response) => response.text(),
  ): Promise<ReadAnswer<R>> {
    const link = linked(options.signal, options.timeoutMs ?? this.#options.timeoutMs);
    try {
      const response = await this.#send(method, path, options, link.signal);
      return { response, text: await readBody(response) };
    } catch (error) {
      throw this.#failure(error, method, path, link.signal);
    } finally {
      link.dispose();
    }
  }

  /** A JSON answer as T; an error answer as an `ApiError`; no answer as `noAnswer` says. */
  async json<T>(method: string, path: string, options: RequestOptions = {}): Promise<T> {
    const { response, text } = await this.read(method, path, options);
    if (!response.ok) throw this.error(method, path, response, text);
    return this.parse<T>(method, path, text);
  }

  /**
   * Opens a request whose body the caller reads (a stream), under the caller's signal only: no timeout,
   * since a stream lasts. An error answer rejects as an `ApiError`; no answer as `noAnswer` says.
   */
  async open(method: string, path: string, options: RequestOptions = {}): Promise<R> {
    const signal = options.signal ?? new AbortController().signal;
    try {
      const response = await this.#send(method, path, options, signal);
      if (!response.ok) throw this.error(method, path, response, await response.text());
      return response;
    } catch (error) {
      throw this.#failure(error, method, path, signal);
    }
  }

  /** An error answer as an `ApiError` (see errorFromHttpAnswer), passed through `onError`. */
  error(method: string, path: string, response: HttpAnswer, text: string): ApiError {
    const context = this.#options.errorContext?.(method, path, response.status, text) ?? { what: `${method} ${path}` };
    const error = errorFromHttpAnswer(
      { status: response.status, body: text, retryAfter: response.headers.get('retry-after') },
      context,
    );
    return this.#options.onError?.(error) ?? error;
  }

  /** A body as JSON; `invalid_response` when it is not (the base URL is probably no promptops server). */
  parse<T>(method: string, path: string, text: string): T {
    try {
      if (text !== '') return JSON.parse(text) as T;
    } catch {
      // reported below
    }
    throw new PromptopsError(
      'internal',
      'invalid_response',
      `${method} ${path}: the server answered with invalid JSON`,
      {
        fix: `check that ${this.baseUrl} is a promptops server`,
      },
    );
  }

  #send(method: string, path: string, options: RequestOptions, signal: AbortSignal): Promise<R> {
    const headers: Record<string, string> = { accept: 'application/json' };
    if (this.#options.apiKey !== undefined) headers['authorization'] = `Bearer ${this.#options.apiKey}`;
    const body = options.body ?? (options.json === undefined ? undefined : JSON.stringify(options.json));
    if (body !== undefined) headers['content-type'] = 'application/json';
    return this.#options.fetch(`${this.baseUrl}${path}${queryString(options.query)}`, {
      method,
      headers: { ...headers, ...options.headers },
      signal,
      ...(body === undefined ? {} : { body }),
    });
  }

  #failure(error: unknown, method: string, path: string, signal: AbortSignal): unknown {
    if (error instanceof PromptopsError) return error;
    const timedOut = signal.aborted && signal.reason instanceof TimedOut ? signal.reason.ms : undefined;
    // Aborted by the caller: its reason when it gave a PromptopsError (its own timeout), else fetch's error.
    if (signal.aborted && timedOut === undefined)
      return signal.reason instanceof PromptopsError ? signal.reason : error;
    const cause = error instanceof Error ? (error.cause as (Error & { code?: unknown }) | undefined) : undefined;
    const noAnswer = this.#options.noAnswer ?? defaultNoAnswer;
    return noAnswer({
      method,
      path,
      baseUrl: this.baseUrl,
      timeoutMs: timedOut,
      cause: typeof cause?.code === 'string' ? cause.code : undefined,
      message: cause?.message ?? (error instanceof Error ? error.message : String(error)),
    });
  }
}
