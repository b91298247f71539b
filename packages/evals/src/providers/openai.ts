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
 * OpenAI-compatible chat completions (`POST {baseUrl}/chat/completions`): OpenAI, vLLM, Ollama,
 * llama.cpp server, LM Studio, OpenRouter. The base URL comes from the suite's `provider.baseUrl`, else
 * `OPENAI_BASE_URL`, else OpenAI's. The key from the env variable named by `provider.apiKeyEnv`, else
 * `OPENAI_API_KEY`; a local server without auth needs none, OpenAI itself does.
 */

export const OPENAI_BASE_URL = 'https://api.openai.com/v1';

export const createOpenAiProvider = (config: EvalProviderConfig, options: ProviderOptions): Provider => {
  const configured = config.params.baseUrl;
  const baseUrl = (
    typeof configured === 'string' && configured !== '' ? configured : (options.env.OPENAI_BASE_URL ?? OPENAI_BASE_URL)
  ).replace(/\/+$/, '');
  const { key, env } = apiKeyFor(config, options, 'OPENAI_API_KEY');
  const policy = retryPolicyFor(config, options);
  const deps = httpDepsFor(options);
  const what = `openai chat completions at ${baseUrl}`;
  return {
    config,
    async complete(request) {
      if (key === undefined && baseUrl === OPENAI_BASE_URL) {
        throw new ProviderError(`${what}: no API key; set ${env} in the environment`, null, 0);
      }
      const started = performance.now();
      const body = await postJson(
        {
          what,
          url: `${baseUrl}/chat/completions`,
          headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
          body: { ...modelParams(config), model: config.model, messages: chatMessages(request.prompt) },
          secrets: key === undefined ? [] : [key],
          signal: request.signal,
        },
        policy,
        deps,
      );
      const latencyMs = performance.now() - started;
      const answer = body as {
        choices?: { message?: { content?: unknown } }[];
        usage?: { prompt_tokens?: unknown; completion_tokens?: unknown };
      };
      const content = answer.choices?.[0]?.message?.content;
      if (typeof content !== 'string') {
        throw new ProviderError(`${what}: the answer has no choices[0].message.content string`, 200, 1);
      }
      return {
        output: content,
        usage: {
          inputTokens: tokenCount(answer.usage?.prompt_tokens),
          outputTokens: tokenCount(answer.usage?.completion_tokens),
        },
        latencyMs,
      };
    },
  };
};
