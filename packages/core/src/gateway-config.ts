import { parse as parseYaml } from 'yaml';
import * as z from 'zod';
import { PromptopsError, formatIssues } from './errors.js';
import { zodIssues } from './schema.js';

/**
 * The gateway's configuration (`promptops serve --gateway-config FILE`, or PROMPTOPS_GATEWAY_CONFIG): the
 * OpenAI-compatible upstreams a prompt's `config.provider` selects. Keys never sit in the file, only the
 * name of the environment variable holding each one. JSON or YAML (YAML reads JSON too).
 */

export interface GatewayProviderConfig {
  /** The upstream's base URL, up to and including `/v1` (`https://api.openai.com/v1`). */
  readonly baseURL: string;
  /** The environment variable holding the upstream's API key; none: the upstream is called without one. */
  readonly apiKeyEnv?: string;
  /** How long the upstream may take to answer with headers (default 600,000 ms). */
  readonly timeoutMs?: number;
}

export interface GatewayShadowConfig {
  /** Shadow calls running at once (default 4). */
  readonly concurrency?: number;
  /** Shadow calls waiting for a slot; beyond, a new one is dropped and counted (default 100). */
  readonly queue?: number;
}

export interface GatewayConfig {
  readonly providers: Readonly<Record<string, GatewayProviderConfig>>;
  readonly shadow?: GatewayShadowConfig;
}

/** The provider name that is always there: answers in-process, offline (the demo's). */
export const SIMULATED_PROVIDER = 'simulated';

const unknownKeys = (allowed: readonly string[]) => (issue: { code?: string; keys?: readonly string[] }) =>
  issue.code === 'unrecognized_keys'
    ? `unknown field ${(issue.keys ?? []).map((k) => `"${k}"`).join(', ')}; allowed fields: ${allowed.join(', ')}`
    : undefined;

const providerSchema = z.strictObject(
  {
    baseURL: z
      .string()
      .regex(/^https?:\/\/[^\s]+$/, 'must be an http:// or https:// URL, e.g. https://api.openai.com/v1'),
    apiKeyEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'must be the name of an environment variable, e.g. OPENAI_API_KEY')
      .optional(),
    timeoutMs: z.number().int().positive().optional(),
  },
  { error: unknownKeys(['baseURL', 'apiKeyEnv', 'timeoutMs']) },
);

const configSchema = z.strictObject(
  {
    providers: z.record(
      z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a provider name is letters, digits, "_", "." and "-"'),
      providerSchema,
    ),
    shadow: z
      .strictObject(
        { concurrency: z.number().int().min(1).max(256).optional(), queue: z.number().int().min(0).optional() },
        { error: unknownKeys(['concurrency', 'queue']) },
      )
      .optional(),
  },
  { error: unknownKeys(['providers', 'shadow']) },
);

const invalid = (source: string, message: string, issues?: ReturnType<typeof zodIssues>): PromptopsError =>
  new PromptopsError('invalid', 'invalid_gateway_config', `gateway config ${source}: ${message}`, {
    fix: 'providers map a name to { baseURL, apiKeyEnv? }, e.g. providers: { openai: { baseURL: https://api.openai.com/v1, apiKeyEnv: OPENAI_API_KEY } }',
    ...(issues === undefined ? {} : { issues }),
  });

/** A gateway config from its text (JSON or YAML); `source` names the file in errors. */
export const parseGatewayConfig = (text: string, source: string): GatewayConfig => {
  let data: unknown;
  try {
    data = parseYaml(text);
  } catch (error) {
    throw invalid(source, `is neither JSON nor YAML (${(error as Error).message.split('\n')[0]})`);
  }
  const result = configSchema.safeParse(data);
  if (!result.success) {
    const issues = zodIssues(result.error);
    throw invalid(source, `is invalid:\n${formatIssues(issues)}`, issues);
  }
  const { providers, shadow } = result.data;
  // Trailing slashes dropped once, so `${baseURL}/chat/completions` is always one slash.
  const normalized = Object.fromEntries(
    Object.entries(providers).map(([name, { baseURL, apiKeyEnv, timeoutMs }]): [string, GatewayProviderConfig] => [
      name,
      {
        baseURL: baseURL.replace(/\/+$/, ''),
        ...(apiKeyEnv === undefined ? {} : { apiKeyEnv }),
        ...(timeoutMs === undefined ? {} : { timeoutMs }),
      },
    ]),
  );
  const limits: GatewayShadowConfig | undefined =
    shadow === undefined
      ? undefined
      : {
          ...(shadow.concurrency === undefined ? {} : { concurrency: shadow.concurrency }),
          ...(shadow.queue === undefined ? {} : { queue: shadow.queue }),
        };
  return { providers: normalized, ...(limits === undefined ? {} : { shadow: limits }) };
};
