import type { EvalProviderConfig, RenderedPrompt } from '@promptops/core';
import { DEFAULT_RETRY_POLICY, defaultHttpDeps, type HttpDeps, type RetryPolicy } from '../http.js';

export interface ProviderRequest {
  readonly prompt: RenderedPrompt;
  /** The case's variables (only the simulated provider looks at them). */
  readonly vars: Readonly<Record<string, unknown>>;
  readonly signal?: AbortSignal | undefined;
}

export interface ProviderResult {
  readonly output: string;
  readonly usage: { readonly inputTokens: number | null; readonly outputTokens: number | null };
  readonly latencyMs: number;
}

/** A model adapter: one rendered prompt in, one output out. */
export interface Provider {
  readonly config: EvalProviderConfig;
  complete(request: ProviderRequest): Promise<ProviderResult>;
}

export interface ProviderOptions {
  /** Where API keys are read from (never from files). */
  readonly env: Readonly<Record<string, string | undefined>>;
  readonly retry?: Partial<RetryPolicy>;
  readonly http?: Partial<HttpDeps>;
}

/**
 * Provider params that configure the connection or the accounting rather than the model; they are not
 * sent in the request body and (but for `baseUrl`) do not count in the result cache key.
 */
export const CONNECTION_PARAMS = ['baseUrl', 'apiKeyEnv', 'timeoutMs', 'maxRetries', 'pricing'] as const;

export const modelParams = (config: EvalProviderConfig): Record<string, unknown> =>
  Object.fromEntries(
    Object.entries(config.params).filter(([key]) => !(CONNECTION_PARAMS as readonly string[]).includes(key)),
  );

export const retryPolicyFor = (config: EvalProviderConfig, options: ProviderOptions): RetryPolicy => {
  const { timeoutMs, maxRetries } = config.params;
  return {
    ...DEFAULT_RETRY_POLICY,
    ...options.retry,
    ...(typeof timeoutMs === 'number' && timeoutMs > 0 ? { timeoutMs } : {}),
    ...(typeof maxRetries === 'number' && Number.isInteger(maxRetries) && maxRetries >= 0 ? { maxRetries } : {}),
  };
};

export const httpDepsFor = (options: ProviderOptions): HttpDeps => ({ ...defaultHttpDeps(), ...options.http });

/** The API key: the env variable the suite names (`apiKeyEnv`), else the provider's usual one. */
export const apiKeyFor = (
  config: EvalProviderConfig,
  options: ProviderOptions,
  fallbackEnv: string,
): { readonly key: string | undefined; readonly env: string } => {
  const named = config.params.apiKeyEnv;
  const env = typeof named === 'string' && named !== '' ? named : fallbackEnv;
  const key = options.env[env];
  return { key: key === undefined || key === '' ? undefined : key, env };
};

export const chatMessages = (prompt: RenderedPrompt): { role: string; content: string }[] =>
  prompt.type === 'text' ? [{ role: 'user', content: prompt.text }] : prompt.messages.map((m) => ({ ...m }));

export const tokenCount = (value: unknown): number | null =>
  typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : null;
