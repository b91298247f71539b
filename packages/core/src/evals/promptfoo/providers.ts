import { parseProviderSpec } from '../suite.js';
import { isRecord, type Json } from './assertions.js';

/**
 * promptfoo providers -> promptops suite providers. Request parameters the APIs take (temperature,
 * max_tokens, response_format, tools, …) carry over; the connection maps to `baseUrl` and `apiKeyEnv`. A
 * key written in the config is never copied: the suite names the environment variable that must hold it.
 */

export interface MappedProvider {
  /** The suite's `provider:` value. */
  readonly provider: Json;
  /** A short name for suite names when there are several providers. */
  readonly label: string;
  /** promptfoo's own `prompts:` filter on this provider (labels), if any. */
  readonly prompts?: readonly string[];
}

const BODY_PARAMS = new Set([
  'temperature',
  'max_tokens',
  'max_completion_tokens',
  'top_p',
  'top_k',
  'frequency_penalty',
  'presence_penalty',
  'stop',
  'stop_sequences',
  'seed',
  'response_format',
  'tools',
  'tool_choice',
  'parallel_tool_calls',
  'logit_bias',
  'logprobs',
  'top_logprobs',
  'reasoning_effort',
  'verbosity',
  'thinking',
  'user',
  'n',
]);
const DEFAULT_KEY_ENV: Record<string, string> = { openai: 'OPENAI_API_KEY', anthropic: 'ANTHROPIC_API_KEY' };
const SECRET = /(api[_-]?key|secret|token|password|authorization)/i;

/** `{{ env.NAME }}`, `${NAME}` or `$NAME`: a key read from the environment, by name. */
const envReference = (value: unknown): string | undefined => {
  if (typeof value !== 'string') return undefined;
  const match =
    /^\s*(?:\{\{\s*env\.([A-Za-z_][A-Za-z0-9_]*)\s*\}\}|\$\{([A-Za-z_][A-Za-z0-9_]*)\}|\$([A-Za-z_][A-Za-z0-9_]*))\s*$/.exec(
      value,
    );
  return match === null ? undefined : (match[1] ?? match[2] ?? match[3]);
};

const slugPart = (text: string): string =>
  text
    .toLowerCase()
    .replace(/[^a-z0-9_.-]+/g, '-')
    .replace(/^[^a-z0-9]+|-+$/g, '')
    .slice(0, 40) || 'provider';

/** `ollama:chat:llama3` and `ollama:llama3` talk OpenAI's API on Ollama's default port. */
const adapterFor = (id: string): { id: string; model: string; baseUrl?: string; note?: string } | undefined => {
  const parts = id.split(':');
  if (parts[0] === 'ollama') {
    const model = parts.slice(parts[1] === 'chat' || parts[1] === 'completion' ? 2 : 1).join(':');
    return {
      id: 'openai',
      model,
      baseUrl: 'http://localhost:11434/v1',
      note: "through Ollama's OpenAI-compatible API",
    };
  }
  if (parts[0] === 'openai' && (parts[1] === 'responses' || parts[1] === 'completion')) {
    return { id: 'openai', model: parts.slice(2).join(':'), note: 'through chat completions' };
  }
  const spec = parseProviderSpec(id);
  return ['openai', 'anthropic'].includes(spec.id) && spec.model !== ''
    ? { id: spec.id, model: spec.model }
    : undefined;
};

export interface ProviderContext {
  readonly warnings: string[];
  readonly readValue: (path: string, where: string) => unknown;
}

/** One entry of `providers:` (string, `{ id, config, label }`, or `{ "openai:gpt-4o": { config } }`). */
export const mapProvider = (entry: unknown, where: string, context: ProviderContext): MappedProvider => {
  const { warnings } = context;
  let options: Json = {};
  let id: string | undefined;
  if (typeof entry === 'string') id = entry;
  else if (isRecord(entry) && typeof entry.id === 'string') {
    id = entry.id;
    options = entry;
  } else if (isRecord(entry) && Object.keys(entry).length === 1) {
    const [key, value] = Object.entries(entry)[0] ?? [];
    id = key;
    options = isRecord(value) ? value : {};
  }
  if (id === undefined) {
    warnings.push(`${where}: not a provider id or { id, config }; the suite uses simulated`);
    return { provider: { id: 'simulated' }, label: 'simulated' };
  }
  for (const key of Object.keys(options)) {
    if (!['id', 'config', 'label', 'prompts'].includes(key)) warnings.push(`${where}: "${key}" is not imported`);
  }
  const prompts = Array.isArray(options.prompts) ? options.prompts.map(String) : undefined;
  const adapter = adapterFor(id);
  const label = typeof options.label === 'string' ? options.label : (adapter?.model ?? id);
  if (adapter === undefined) {
    warnings.push(`${where}: provider "${id}" has no promptops adapter; its suite uses simulated until you choose one`);
    return { provider: { id: 'simulated' }, label: slugPart(label), ...(prompts === undefined ? {} : { prompts }) };
  }
  if (adapter.note !== undefined)
    warnings.push(`${where}: "${id}" is run as ${adapter.id}:${adapter.model} ${adapter.note}`);
  const config = isRecord(options.config) ? options.config : {};
  const params: Json = {};
  let keyEnv: string | undefined;
  for (const [key, value] of Object.entries(config)) {
    const at = `${where}.config.${key}`;
    if (key === 'apiKey') {
      keyEnv = envReference(value) ?? DEFAULT_KEY_ENV[adapter.id];
      if (envReference(value) === undefined) {
        warnings.push(`${at}: a key written in the config is not copied; put it in the environment variable ${keyEnv}`);
      }
    } else if (key === 'apiKeyEnvar' && typeof value === 'string') keyEnv = value;
    else if (key === 'apiBaseUrl' && typeof value === 'string') params.baseUrl = value;
    else if (key === 'apiHost' && typeof value === 'string') params.baseUrl = `https://${value}/v1`;
    else if (BODY_PARAMS.has(key)) {
      params[key] =
        typeof value === 'string' && value.startsWith('file://') ? context.readValue(value.slice(7), at) : value;
    } else if (SECRET.test(key) || key === 'headers') {
      warnings.push(`${at}: not copied (it may hold a secret); set what it configures in the environment`);
    } else warnings.push(`${at}: not a request parameter promptops sends; not imported`);
  }
  if (adapter.baseUrl !== undefined && params.baseUrl === undefined) params.baseUrl = adapter.baseUrl;
  return {
    provider: {
      id: adapter.id,
      model: adapter.model,
      ...params,
      ...(keyEnv === undefined ? {} : { apiKeyEnv: keyEnv }),
    },
    label: slugPart(label),
    ...(prompts === undefined ? {} : { prompts }),
  };
};
