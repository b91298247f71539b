import type { EvalProviderConfig } from '@promptops/core';
import { ProviderError, postJson } from '../http.js';
import {
  apiKeyFor,
  chatMessages,
  httpDepsFor,
  modelParams,
  retryPolicyFor,
  tokenCount,
  type Provider,
  type ProviderOptions,
} from './types.js';

/**
 * Anthropic messages (`POST {baseUrl}/v1/messages`). System and developer messages become the `system`
 * field; `max_tokens` (required by the API) defaults to 1024. The key from `provider.apiKeyEnv`, else
 * `ANTHROPIC_API_KEY`, sent as `x-api-key`.
 */

export const ANTHROPIC_BASE_URL = 'https://api.anthropic.com';
export const ANTHROPIC_VERSION = '2023-06-01';

export const createAnthropicProvider = (config: EvalProviderConfig, options: ProviderOptions): Provider => {
  const configured = config.params.baseUrl;
  const baseUrl = (
    typeof configured === 'string' && configured !== ''
      ? configured
      : (options.env.ANTHROPIC_BASE_URL ?? ANTHROPIC_BASE_URL)
  ).replace(/\/+$/, '');
  const { key, env } = apiKeyFor(config, options, 'ANTHROPIC_API_KEY');
  const policy = retryPolicyFor(config, options);
  const deps = httpDepsFor(options);
  const what = `anthropic messages at ${baseUrl}`;
  return {
    config,
    async complete(request) {
      if (key === undefined) throw new ProviderError(`${what}: no API key; set ${env} in the environment`, null, 0);
      const all = chatMessages(request.prompt);
      const system = all
        .filter((m) => m.role === 'system' || m.role === 'developer')
        .map((m) => m.content)
        .join('\n\n');
      const messages = all.filter((m) => m.role === 'user' || m.role === 'assistant');
      const started = performance.now();
      const body = await postJson(
        {
          what,
          url: `${baseUrl}/v1/messages`,
          headers: { 'x-api-key': key, 'anthropic-version': ANTHROPIC_VERSION },
          body: {
            max_tokens: 1024,
            ...modelParams(config),
            model: config.model,
            ...(system === '' ? {} : { system }),
            messages,
          },
          secrets: [key],
          signal: request.signal,
        },
        policy,
        deps,
      );
      const latencyMs = performance.now() - started;
      const answer = body as {
        content?: { type?: unknown; text?: unknown }[];
        usage?: { input_tokens?: unknown; output_tokens?: unknown };
      };
      if (!Array.isArray(answer.content)) throw new ProviderError(`${what}: the answer has no content list`, 200, 1);
      const output = answer.content
        .filter((block) => block.type === 'text' && typeof block.text === 'string')
        .map((block) => block.text as string)
        .join('');
      return {
        output,
        usage: {
          inputTokens: tokenCount(answer.usage?.input_tokens),
          outputTokens: tokenCount(answer.usage?.output_tokens),
        },
        latencyMs,
      };
    },
  };
};
