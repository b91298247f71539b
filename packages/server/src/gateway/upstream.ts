import http, { type IncomingHttpHeaders, type IncomingMessage } from 'node:http';
import https from 'node:https';
import { Readable } from 'node:stream';
import { PromptopsError, SIMULATED_PROVIDER, type GatewayConfig, type GatewayProviderConfig } from '@promptops/core';
import { simulatedAnswer } from './simulated.js';

/**
 * The upstreams a prompt's `config.provider` names: OpenAI-compatible HTTP endpoints from the server's
 * gateway config, and `simulated`, answered in-process (offline; the demo's). The body goes out as bytes
 * and comes back as bytes: the gateway never re-encodes an answer or its SSE stream.
 */

export interface UpstreamCall {
  /** The chat completion request, as sent. */
  readonly body: Buffer;
  /** The same, parsed (the simulated provider reads it). */
  readonly json: Readonly<Record<string, unknown>>;
  /** The prompt's variables (the simulated provider reads them, as in evals). */
  readonly variables: Readonly<Record<string, unknown>>;
  /** Aborts the upstream call (the caller went away). */
  readonly signal?: AbortSignal;
}

export interface UpstreamAnswer {
  readonly status: number;
  /** The upstream headers a client needs (content type, retry hints, rate limits, request id). */
  readonly headers: Readonly<Record<string, string>>;
  readonly body: Readable;
}

export interface Upstream {
  call(call: UpstreamCall): Promise<UpstreamAnswer>;
}

/** Headers passed back to the caller as the upstream sent them; the rest (its cookies, length, …) are not. */
const PASSED = /^(content-type|retry-after|retry-after-ms|x-should-retry|x-request-id|openai-.*|x-ratelimit-.*)$/;

const passedHeaders = (headers: IncomingHttpHeaders): Record<string, string> => {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value !== undefined && PASSED.test(name)) out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
};

const DEFAULT_TIMEOUT_MS = 600_000;

/** Keep-alive agents, one per protocol, shared by every provider of the process. */
const agents = {
  http: new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' }),
  https: new https.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 64, scheduling: 'lifo' }),
};

const unreachable = (name: string, baseURL: string, why: string): PromptopsError =>
  new PromptopsError('unavailable', 'upstream_unreachable', `provider '${name}' (${baseURL}) ${why}`, {
    fix: `retry later; check that ${baseURL} is reachable from the server (gateway config, provider '${name}')`,
  });

const httpUpstream = (
  name: string,
  provider: GatewayProviderConfig,
  env: Readonly<Record<string, string | undefined>>,
): Upstream => {
  const url = new URL(`${provider.baseURL}/chat/completions`);
  const secure = url.protocol === 'https:';
  const send = secure ? https.request : http.request;
  const agent = secure ? agents.https : agents.http;
  const timeoutMs = provider.timeoutMs ?? DEFAULT_TIMEOUT_MS;
  return {
    call: ({ body, signal }) => {
      // Read at each call: a key rotated in the environment of a running server is picked up.
      const key = provider.apiKeyEnv === undefined ? undefined : env[provider.apiKeyEnv];
      if (provider.apiKeyEnv !== undefined && (key === undefined || key === '')) {
        return Promise.reject(
          new PromptopsError(
            'invalid',
            'gateway_provider_unconfigured',
            `provider '${name}' takes its API key from the environment variable ${provider.apiKeyEnv}, which is not set on the server`,
            { fix: `set ${provider.apiKeyEnv} in the server's environment and restart it` },
          ),
        );
      }
      return new Promise<UpstreamAnswer>((resolve, reject) => {
        const request = send(url, {
          method: 'POST',
          agent,
          headers: {
            'content-type': 'application/json',
            'content-length': String(body.length),
            accept: 'application/json, text/event-stream',
            ...(key === undefined ? {} : { authorization: `Bearer ${key}` }),
          },
        });
        const timer = setTimeout(
          () => request.destroy(unreachable(name, provider.baseURL, `did not answer within ${timeoutMs} ms`)),
          timeoutMs,
        );
        const onAbort = (): void => {
          request.destroy(new Error('the caller went away'));
        };
        signal?.addEventListener('abort', onAbort, { once: true });
        request.on('response', (response: IncomingMessage) => {
          clearTimeout(timer);
          response.once('close', () => signal?.removeEventListener('abort', onAbort));
          resolve({ status: response.statusCode ?? 502, headers: passedHeaders(response.headers), body: response });
        });
        request.on('error', (error) => {
          clearTimeout(timer);
          signal?.removeEventListener('abort', onAbort);
          reject(
            error instanceof PromptopsError
              ? error
              : unreachable(
                  name,
                  provider.baseURL,
                  `could not be reached (${(error as NodeJS.ErrnoException).code ?? error.message})`,
                ),
          );
        });
        request.end(body);
      });
    },
  };
};

const simulatedUpstream: Upstream = {
  call: ({ json, variables }) => {
    const answer = simulatedAnswer(json, variables);
    return Promise.resolve({
      status: 200,
      headers: { 'content-type': answer.contentType },
      body: Readable.from(answer.chunks),
    });
  },
};

export interface UpstreamOptions {
  readonly config: GatewayConfig;
  /** Where API keys are read from; default process.env. */
  readonly env?: Readonly<Record<string, string | undefined>>;
  /** Names the config's source in errors (the file, or "no gateway config"). */
  readonly source: string;
  /** Answer a provider the config does not list with `simulated` (the demo without a config: offline). */
  readonly simulateUnlisted?: boolean;
}

/** The upstream for a provider name, or the error naming the config to fix. */
export const createUpstreams = (options: UpstreamOptions): ((provider: string | undefined) => Upstream) => {
  const env = options.env ?? process.env;
  const built = new Map<string, Upstream>();
  for (const [name, provider] of Object.entries(options.config.providers)) {
    built.set(name, httpUpstream(name, provider, env));
  }
  if (!built.has(SIMULATED_PROVIDER)) built.set(SIMULATED_PROVIDER, simulatedUpstream);
  const names = [...built.keys()].sort().join(', ');
  return (provider) => {
    const upstream = provider === undefined ? undefined : built.get(provider);
    if (upstream !== undefined) return upstream;
    if (options.simulateUnlisted === true) return simulatedUpstream;
    throw new PromptopsError(
      'invalid',
      'gateway_provider_unconfigured',
      provider === undefined
        ? `the prompt names no provider (config.provider), so the gateway cannot choose an upstream (configured: ${names})`
        : `the prompt's provider '${provider}' is not in the gateway config (${options.source}; configured: ${names})`,
      {
        fix:
          provider === undefined
            ? 'set config.provider in the prompt to one of the configured providers'
            : `add providers.${provider}: { baseURL, apiKeyEnv } to the file given to promptops serve --gateway-config (or PROMPTOPS_GATEWAY_CONFIG)`,
      },
    );
  };
};
