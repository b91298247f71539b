import type { FastifyInstance } from 'fastify';

export interface Reply<T = Record<string, unknown>> {
  readonly status: number;
  readonly body: T;
  readonly headers: Record<string, unknown>;
  readonly text: string;
}

/** One JSON request through `inject`, with a bearer key. */
export const call = async <T = Record<string, unknown>>(
  app: FastifyInstance,
  method: 'GET' | 'POST' | 'PUT' | 'PATCH' | 'DELETE',
  url: string,
  key: string,
  payload?: unknown,
  options: { remoteAddress?: string } = {},
): Promise<Reply<T>> => {
  const response = await app.inject({
    method,
    url,
    headers: { authorization: `Bearer ${key}` },
    ...(payload === undefined ? {} : { payload: payload as Record<string, unknown> }),
    ...(options.remoteAddress === undefined ? {} : { remoteAddress: options.remoteAddress }),
  });
  let body: unknown;
  try {
    body = response.json();
  } catch {
    body = {};
  }
  return { status: response.statusCode, body: body as T, headers: response.headers, text: response.body };
};
