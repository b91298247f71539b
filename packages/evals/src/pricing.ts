import type { EvalProviderConfig } from '@promptops/core';

/**
 * Cost accounting: USD per million input and output tokens, by model name prefix (the longest prefix
 * wins, so `gpt-4o-mini-2024-07-18` is priced as `gpt-4o-mini`, not `gpt-4o`). List prices as published
 * by the vendors; a suite overrides them with `provider.pricing: { input, output }` (same unit), which
 * is also how a self-hosted model gets a price. An unknown model has an unknown cost (null), not zero.
 */

export interface Price {
  /** USD per 1M input tokens. */
  readonly input: number;
  /** USD per 1M output tokens. */
  readonly output: number;
}

export const PRICES: Readonly<Record<string, Price>> = {
  'gpt-4o-mini': { input: 0.15, output: 0.6 },
  'gpt-4o': { input: 2.5, output: 10 },
  'gpt-4.1-nano': { input: 0.1, output: 0.4 },
  'gpt-4.1-mini': { input: 0.4, output: 1.6 },
  'gpt-4.1': { input: 2, output: 8 },
  'o3-mini': { input: 1.1, output: 4.4 },
  'o4-mini': { input: 1.1, output: 4.4 },
  'claude-3-haiku': { input: 0.25, output: 1.25 },
  'claude-3-5-haiku': { input: 0.8, output: 4 },
  'claude-3-5-sonnet': { input: 3, output: 15 },
  'claude-3-7-sonnet': { input: 3, output: 15 },
  'claude-sonnet-4': { input: 3, output: 15 },
  'claude-opus-4': { input: 15, output: 75 },
  'simulated-': { input: 0, output: 0 },
};

const isPrice = (value: unknown): value is Price =>
  value !== null &&
  typeof value === 'object' &&
  typeof (value as Price).input === 'number' &&
  typeof (value as Price).output === 'number' &&
  (value as Price).input >= 0 &&
  (value as Price).output >= 0;

export const priceFor = (
  provider: EvalProviderConfig,
  table: Readonly<Record<string, Price>> = PRICES,
): Price | null => {
  const override = provider.params.pricing;
  if (isPrice(override)) return override;
  if (provider.id === 'simulated') return { input: 0, output: 0 };
  let best: string | undefined;
  for (const prefix of Object.keys(table)) {
    if (provider.model.startsWith(prefix) && (best === undefined || prefix.length > best.length)) best = prefix;
  }
  return best === undefined ? null : (table[best] ?? null);
};

export const costOf = (
  provider: EvalProviderConfig,
  usage: { readonly inputTokens: number | null; readonly outputTokens: number | null },
): number | null => {
  const price = priceFor(provider);
  if (price === null || usage.inputTokens === null || usage.outputTokens === null) return null;
  return (usage.inputTokens * price.input + usage.outputTokens * price.output) / 1_000_000;
};
