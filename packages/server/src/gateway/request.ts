import { PromptopsError, TENANT_PATTERN, type EvaluationContext, type FieldIssue } from '@promptops/core';

/**
 * What a `POST /v1/chat/completions` asks of the gateway, read from its body and headers: which prompt
 * (`model: "prompt:NAME[@REF]"`, else the `X-Promptops-Prompt` header), its variables (`promptops.variables`,
 * else the JSON of `X-Promptops-Variables`), the unit key for a rollout (`user`, else `X-Promptops-Unit`),
 * the tenant whose override applies (`X-Promptops-Tenant`), the attributes a rollout's targeting rules read
 * (the JSON object of `X-Promptops-Context`), and the rest of the body, which goes upstream
 * as the caller wrote it (minus `promptops`).
 */

export const PROMPT_MODEL_PREFIX = 'prompt:';

export interface GatewayRequest {
  /** `NAME` or `NAME@REF`. */
  readonly ref: string;
  readonly variables: Readonly<Record<string, unknown>>;
  readonly unitKey: string | null;
  /** The tenant served its effective prompt, or null: the shared prompt. */
  readonly tenant: string | null;
  /** The evaluation context for a rollout's targeting rules, or null. */
  readonly context: EvaluationContext | null;
  readonly stream: boolean;
  /** The caller's messages, appended after the prompt's. */
  readonly messages: readonly Readonly<Record<string, unknown>>[];
  /** Every other body field (temperature, tools, user, stream_options, …), passed upstream unchanged. */
  readonly fields: Readonly<Record<string, unknown>>;
}

type Headers = Readonly<Record<string, string | string[] | undefined>>;

const invalid = (message: string, path: string, fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_request', message, { issues: [{ path, message }], fix });

const isObject = (value: unknown): value is Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value);

const header = (headers: Headers, name: string): string | undefined => {
  const value = headers[name];
  const text = Array.isArray(value) ? value[0] : value;
  return text === undefined || text.trim() === '' ? undefined : text.trim();
};

const promptRef = (model: unknown, headers: Headers): string => {
  const named = header(headers, 'x-promptops-prompt');
  if (named !== undefined) return named;
  if (typeof model === 'string' && model.startsWith(PROMPT_MODEL_PREFIX) && model.length > PROMPT_MODEL_PREFIX.length) {
    return model.slice(PROMPT_MODEL_PREFIX.length);
  }
  throw invalid(
    `no prompt named: model is ${JSON.stringify(model ?? null)}, and no X-Promptops-Prompt header`,
    'model',
    'set model to "prompt:NAME" (or "prompt:NAME@LABEL", "prompt:NAME@v3"), or send the header X-Promptops-Prompt: NAME',
  );
};

const variablesOf = (body: Record<string, unknown>, headers: Headers): Readonly<Record<string, unknown>> => {
  const extension = body['promptops'];
  if (extension !== undefined) {
    if (!isObject(extension)) {
      throw invalid('promptops must be an object: { "variables": { … } }', 'promptops', 'send promptops as an object');
    }
    const unknown = Object.keys(extension).filter((key) => key !== 'variables');
    if (unknown.length > 0) {
      throw invalid(
        `unknown field promptops.${unknown[0]}; allowed fields: variables`,
        `promptops.${unknown[0]}`,
        'send only promptops.variables',
      );
    }
    const variables = extension['variables'];
    if (variables !== undefined && !isObject(variables)) {
      throw invalid(
        'promptops.variables must be an object of variable name to value',
        'promptops.variables',
        'send { "promptops": { "variables": { "user_name": "Ada" } } }',
      );
    }
    if (variables !== undefined) return variables;
  }
  const text = header(headers, 'x-promptops-variables');
  if (text === undefined) return {};
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isObject(parsed)) {
    throw invalid(
      'the X-Promptops-Variables header must be a JSON object of variable name to value',
      'headers.x-promptops-variables',
      'send e.g. X-Promptops-Variables: {"user_name":"Ada"}',
    );
  }
  return parsed;
};

const unitKeyOf = (body: Record<string, unknown>, headers: Headers): string | null => {
  const user = body['user'];
  if (user !== undefined && typeof user !== 'string') {
    throw invalid('user must be a string (the unit a rollout assigns)', 'user', 'send user as a string');
  }
  return user !== undefined && user !== '' ? user : (header(headers, 'x-promptops-unit') ?? null);
};

const tenantOf = (headers: Headers): string | null => {
  const tenant = header(headers, 'x-promptops-tenant');
  if (tenant === undefined || tenant === '') return null;
  if (!TENANT_PATTERN.test(tenant)) {
    throw invalid(
      `the X-Promptops-Tenant header "${tenant.slice(0, 140)}" is not a tenant id`,
      'headers.x-promptops-tenant',
      'send a tenant id: letters, digits, "_", "." and "-" (at most 128), starting with a letter or digit',
    );
  }
  return tenant;
};

const contextOf = (headers: Headers): EvaluationContext | null => {
  const text = header(headers, 'x-promptops-context');
  if (text === undefined) return null;
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    parsed = undefined;
  }
  if (!isObject(parsed)) {
    throw invalid(
      'the X-Promptops-Context header must be a JSON object of attributes',
      'headers.x-promptops-context',
      'send e.g. X-Promptops-Context: {"targetingKey":"u1","tenant":"acme","appVersion":"2.1.0"}',
    );
  }
  return parsed;
};

const messagesOf = (value: unknown): readonly Readonly<Record<string, unknown>>[] => {
  if (value === undefined) return [];
  const issues: FieldIssue[] = [];
  if (!Array.isArray(value)) issues.push({ path: 'messages', message: 'must be an array of messages' });
  else {
    value.forEach((message, index) => {
      if (!isObject(message) || typeof message['role'] !== 'string') {
        issues.push({ path: `messages[${index}]`, message: 'must be an object with a string role' });
      }
    });
  }
  if (issues.length === 0) return value as Record<string, unknown>[];
  throw new PromptopsError('invalid', 'invalid_request', `messages: ${issues[0]!.path} ${issues[0]!.message}`, {
    issues,
    fix: 'send messages as [{ "role": "user", "content": "…" }]; the prompt supplies its own before them',
  });
};

/** Reads the gateway's part of a chat completion request; throws `invalid_request` naming the field. */
export const parseGatewayRequest = (body: unknown, headers: Headers): GatewayRequest => {
  if (!isObject(body)) {
    throw invalid(
      'the body must be a JSON object (a chat completion request)',
      'body',
      'send { "model": "prompt:NAME", "messages": [...] }',
    );
  }
  const stream = body['stream'];
  if (stream !== undefined && stream !== null && typeof stream !== 'boolean') {
    throw invalid('stream must be true or false', 'stream', 'send stream as a boolean');
  }
  const { model, messages, promptops: _extension, ...fields } = body;
  return {
    ref: promptRef(model, headers),
    variables: variablesOf(body, headers),
    unitKey: unitKeyOf(body, headers),
    tenant: tenantOf(headers),
    context: contextOf(headers),
    stream: stream === true,
    messages: messagesOf(messages),
    fields,
  };
};
