import { PromptopsError, type EvalProviderConfig } from '@promptops/core';
import { createAnthropicProvider } from './anthropic.js';
import { createOpenAiProvider } from './openai.js';
import { createSimulatedProvider } from './simulated.js';
import type { Provider, ProviderOptions } from './types.js';

/** The adapter for a provider config: `openai` (any compatible base URL), `anthropic` or `simulated`. */
export const createProvider = (config: EvalProviderConfig, options: ProviderOptions): Provider => {
  switch (config.id) {
    case 'openai':
      return createOpenAiProvider(config, options);
    case 'anthropic':
      return createAnthropicProvider(config, options);
    case 'simulated':
      return createSimulatedProvider(config);
    default:
      throw new PromptopsError('invalid', 'unknown_provider', `unknown provider "${config.id}"`, {
        fix: 'use simulated, openai (any OpenAI-compatible base URL) or anthropic',
      });
  }
};

export { createAnthropicProvider, ANTHROPIC_BASE_URL, ANTHROPIC_VERSION } from './anthropic.js';
export { createOpenAiProvider, OPENAI_BASE_URL } from './openai.js';
export { createSimulatedProvider, simulateAnswer } from './simulated.js';
export * from './types.js';
