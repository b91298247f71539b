import { ApiError, HttpClient } from '@promptops/core/http-client';

/**
 * The dashboard's requests, on core's shared HTTP client: the key travels as a Bearer header; errors
 * keep the API's status, code, message and fix (`ApiError`).
 */

export { ApiError };

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface ApiClient {
  readonly key: string;
  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
  put<T>(path: string, body: unknown): Promise<T>;
  delete<T>(path: string): Promise<T>;
  /** The raw streaming response of GET path (the change feed). */
  stream(path: string, headers: Readonly<Record<string, string>>, signal: AbortSignal): Promise<Response>;
}

export const API_BASE = '/api/v1';

/** Prompt names may hold '/', which must be encoded inside a path segment. */
export const promptPath = (name: string, rest = ''): string => `/prompts/${encodeURIComponent(name)}${rest}`;

export const withQuery = (path: string, query: Query = {}): string => {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(query)) {
    if (value !== undefined && value !== '') params.set(key, String(value));
  }
  const text = params.toString();
  return text === '' ? path : `${path}?${text}`;
};

export const createApiClient = (key: string, onUnauthorized: () => void): ApiClient => {
  const options = {
    baseUrl: API_BASE,
    apiKey: key,
    fetch: (url: string, init: RequestInit) => fetch(url, init),
    errorContext: (_method: string, _path: string, status: number) => ({
      fallbackMessage: `HTTP ${status}`,
    }),
  };
  // A refused key signs out; the change feed reports its own 401 as offline instead.
  const http = new HttpClient<Response>({
    ...options,
    onError: (error) => {
      if (error.status === 401) onUnauthorized();
    },
  });
  const feed = new HttpClient<Response>(options);
  return {
    key,
    get: (path, query, signal) => http.json('GET', withQuery(path, query), { signal }),
    post: (path, body) => http.json('POST', path, { json: body }),
    put: (path, body) => http.json('PUT', path, { json: body }),
    delete: (path) => http.json('DELETE', path),
    stream: (path, headers, signal) => feed.open('GET', path, { headers, signal }),
  };
};

/** Checks a key without keeping it: GET /me answers who the key is, or 401. */
export const fetchMe = async <T>(key: string): Promise<T> => createApiClient(key, () => undefined).get<T>('/me');
