import type { FastifyInstance } from 'fastify';

/** Helpers shared by the trace tests. */

export const SHA_A = 'a'.repeat(64);
export const SHA_B = 'b'.repeat(64);

export const traceEvent = (id: string, overrides: Record<string, unknown> = {}): Record<string, unknown> => ({
  id,
  traceId: '0af7651916cd43dd8448eb211c80319c',
  spanId: 'b7ad6b7169203331',
  prompt: { name: 'greeter', version: 1, sha: SHA_A },
  label: 'production',
  tenant: 'acme',
  rollout: { id: 'r1', arm: 'control' },
  variables: { user_name: 'Ada', question: 'where is my order?' },
  output: 'Hello Ada! Your order ships tomorrow.',
  model: 'gpt-4o-mini',
  provider: 'openai',
  latencyMs: 420,
  usage: { inputTokens: 42, outputTokens: 12 },
  cost: 0.0001,
  startedAt: new Date().toISOString(),
  ...overrides,
});

export const ingest = (app: FastifyInstance, key: string, body: unknown, headers: Record<string, string> = {}) =>
  app.inject({
    method: 'POST',
    url: '/api/v1/ingest',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers },
    payload: typeof body === 'string' || Buffer.isBuffer(body) ? body : JSON.stringify(body),
  });

export const getJson = async <T = Record<string, unknown>>(
  app: FastifyInstance,
  key: string,
  url: string,
): Promise<{ status: number; body: T }> => {
  const response = await app.inject({ method: 'GET', url, headers: { authorization: `Bearer ${key}` } });
  return { status: response.statusCode, body: response.json<T>() };
};
