import * as z from 'zod';
import { PromptopsError, type FieldIssue } from './errors.js';

/** Prompt names: lowercase words, `/` for folders. */
export const PROMPT_NAME_PATTERN = /^[a-z0-9][a-z0-9_.-]*(\/[a-z0-9][a-z0-9_.-]*)*$/;
export const MAX_PROMPT_NAME_LENGTH = 200;

export const PROMPT_TYPES = ['text', 'chat'] as const;
export type PromptType = (typeof PROMPT_TYPES)[number];

export const MESSAGE_ROLES = ['system', 'developer', 'user', 'assistant'] as const;
export type MessageRole = (typeof MESSAGE_ROLES)[number];

export const VARIABLE_TYPES = ['string', 'number', 'integer', 'boolean', 'object', 'array', 'any'] as const;
export type VariableType = (typeof VARIABLE_TYPES)[number];

export type JsonValue = string | number | boolean | null | readonly JsonValue[] | { readonly [key: string]: JsonValue };

const unknownKeys =
  (allowed: readonly string[]) =>
  (issue: { code?: string; keys?: readonly string[] }): string | undefined =>
    issue.code === 'unrecognized_keys'
      ? `unknown field ${(issue.keys ?? []).map((k) => `"${k}"`).join(', ')}; allowed fields: ${allowed.join(', ')}`
      : undefined;

const strict = <T extends z.ZodRawShape>(shape: T) => z.strictObject(shape, { error: unknownKeys(Object.keys(shape)) });

export const promptNameSchema = z
  .string()
  .max(MAX_PROMPT_NAME_LENGTH, `a prompt name has at most ${MAX_PROMPT_NAME_LENGTH} characters`)
  .regex(
    PROMPT_NAME_PATTERN,
    'a prompt name is lowercase letters, digits, "_", "." and "-", starting with a letter or digit, with "/" between folders (e.g. "support/greeter")',
  );

const jsonSchema = z.json();

export const variableSpecSchema = strict({
  type: z.enum(VARIABLE_TYPES, {
    error: `type must be one of ${VARIABLE_TYPES.join(', ')}`,
  }),
  required: z.boolean(),
  default: jsonSchema.optional(),
  description: z.string().optional(),
  schema: z.record(z.string(), jsonSchema).optional(),
});
export type VariableSpec = z.infer<typeof variableSpecSchema>;

export const messageSchema = strict({
  role: z.enum(MESSAGE_ROLES, { error: `role must be one of ${MESSAGE_ROLES.join(', ')}` }),
  content: z.string({ error: 'content must be a string (the message template)' }),
});
export type ChatMessage = z.infer<typeof messageSchema>;

/** A prompt file spells config as `model: { provider, name, ...params }`, so params cannot use those two keys. */
const RESERVED_PARAMS = ['provider', 'name'] as const;

export const modelConfigSchema = strict({
  provider: z.string().min(1).optional(),
  model: z.string().min(1).optional(),
  params: z.record(z.string(), jsonSchema).superRefine((params, ctx) => {
    for (const key of RESERVED_PARAMS) {
      if (Object.prototype.hasOwnProperty.call(params, key)) {
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `"${key}" cannot be a model parameter (a prompt file reads model.${key} as the ${key === 'name' ? 'model name' : 'provider'}); use config.${key === 'name' ? 'model' : 'provider'}`,
        });
      }
    }
  }),
});
export type ModelConfig = z.infer<typeof modelConfigSchema>;

const variableNamePattern = /^[A-Za-z_][A-Za-z0-9_]*$/;
const variablesSchema = z.record(
  z.string().regex(variableNamePattern, 'a variable name is letters, digits and "_", not starting with a digit'),
  variableSpecSchema,
);
const slotsSchema = z.record(
  z.string().regex(variableNamePattern, 'a slot name is letters, digits and "_", not starting with a digit'),
  z.string(),
);

const commonContent = {
  name: promptNameSchema,
  config: modelConfigSchema,
  variables: variablesSchema,
  slots: slotsSchema,
};

export const textContentSchema = strict({
  ...commonContent,
  type: z.literal('text'),
  template: z.string({ error: 'template must be a string' }),
});

export const chatContentSchema = strict({
  ...commonContent,
  type: z.literal('chat'),
  messages: z.array(messageSchema).min(1, 'a chat prompt needs at least one message'),
});

/**
 * The hashed content of a version: exactly what identifies it. Commit data (author, message, parent,
 * time, vN) lives beside it and is not part of the identity.
 */
export const promptContentSchema = z.discriminatedUnion('type', [textContentSchema, chatContentSchema], {
  error: 'type must be "text" or "chat"',
});
export type TextPromptContent = z.infer<typeof textContentSchema>;
export type ChatPromptContent = z.infer<typeof chatContentSchema>;
export type PromptContent = TextPromptContent | ChatPromptContent;

/** Formats a zod path as `messages[0].content`. */
export const formatPath = (path: readonly PropertyKey[]): string =>
  path
    .map((part, index) => (typeof part === 'number' ? `[${part}]` : `${index === 0 ? '' : '.'}${String(part)}`))
    .join('');

export const zodIssues = (error: z.ZodError, prefix: readonly PropertyKey[] = []): FieldIssue[] =>
  error.issues.flatMap((issue) =>
    // An unknown field is reported at the field itself (`variables.x.typo`), not at its parent.
    (issue.code === 'unrecognized_keys' ? issue.keys.map((key) => [...issue.path, key]) : [issue.path]).map((path) => ({
      path: formatPath([...prefix, ...path]),
      message: issue.message,
    })),
  );

/**
 * `__proto__` keys in parsed JSON or YAML: a JavaScript object cannot hold one as data (zod drops it
 * silently), so the content would not be what was written. Reported instead of lost.
 */
export const protoKeyIssues = (value: unknown, prefix: readonly PropertyKey[] = [], depth = 0): FieldIssue[] => {
  if (value === null || typeof value !== 'object' || depth > 64) return [];
  const issues: FieldIssue[] = [];
  for (const [key, inner] of Object.entries(value)) {
    const path = [...prefix, Array.isArray(value) ? Number(key) : key];
    if (key === '__proto__') issues.push({ path: formatPath(path), message: 'the key "__proto__" is not allowed' });
    else issues.push(...protoKeyIssues(inner, path, depth + 1));
  }
  return issues;
};

/** Parses untrusted input as prompt content (schema only; see `validatePromptContent` for semantics). */
export const parsePromptContent = (input: unknown, what = 'prompt content'): PromptContent => {
  const protoIssues = protoKeyIssues(input);
  const result = protoIssues.length > 0 ? undefined : promptContentSchema.safeParse(input);
  if (result === undefined || !result.success) {
    const issues = result === undefined ? protoIssues : zodIssues(result.error);
    throw new PromptopsError(
      'invalid',
      'invalid_prompt',
      `${what} is invalid:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
      {
        issues,
        fix: 'correct the fields listed in issues',
      },
    );
  }
  return result.data as PromptContent;
};
