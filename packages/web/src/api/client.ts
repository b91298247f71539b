/** A small fetch wrapper: the key travels as a Bearer header; errors keep the API's code, message and fix. */

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly fix?: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

export type Query = Readonly<Record<string, string | number | undefined>>;

export interface ApiClient {
  readonly key: string;
  get<T>(path: string, query?: Query, signal?: AbortSignal): Promise<T>;
  post<T>(path: string, body: unknown): Promise<T>;
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

const errorOf = async (response: Response): Promise<ApiError> => {
  try {
    const body = (await response.json()) as { error?: { code?: string; message?: string; fix?: string } };
    const error = body.error ?? {};
    return new ApiError(response.status, error.code ?? 'error', error.message ?? response.statusText, error.fix);
  } catch {
    return new ApiError(response.status, 'error', `${response.status} ${response.statusText}`);
  }
};

export const createApiClient = (key: string, onUnauthorized: () => void): ApiClient => {
  const headers = { authorization: `Bearer ${key}` };
  const request = async <T>(path: string, init: RequestInit): Promise<T> => {
    const response = await fetch(`${API_BASE}${path}`, { ...init, headers: { ...headers, ...init.headers } });
    if (!response.ok) {
      const error = await errorOf(response);
      if (response.status === 401) onUnauthorized();
      throw error;
    }
    return (await response.json()) as T;
  };
  return {
    key,
    get: (path, query, signal) => request(withQuery(path, query), signal === undefined ? {} : { signal }),
    post: (path, body) =>
      request(path, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    async stream(path, extra, signal) {
      const response = await fetch(`${API_BASE}${path}`, { headers: { ...headers, ...extra }, signal });
      if (!response.ok) throw await errorOf(response);
      return response;
    },
  };
};

/** Checks a key without keeping it: GET /me answers who the key is, or 401. */
export const fetchMe = async <T>(key: string): Promise<T> => createApiClient(key, () => undefined).get<T>('/me');
