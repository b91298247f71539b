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

/**
 * Caps on prompt content (docs/api.md, "Limits"): generous for real prompts (a long system prompt is some
 * 50,000 characters), small enough that no single push, check or render can exhaust a process's memory.
 */
export const CONTENT_LIMITS = Object.freeze({
  /** Characters in one template: `template`, one message's `content`, or one slot. */
  templateCharacters: 256 * 1024,
  /** Characters in all of a version's templates together. */
  totalTemplateCharacters: 1024 * 1024,
  messages: 500,
  slots: 100,
  variables: 200,
  /** Characters in a variable or slot name. */
  nameCharacters: 100,
  /** Levels of nesting below the content's top level: no key or index path is longer. */
  depth: 64,
});

// 262144 -> "262,144". Not toLocaleString: its first call loads ICU data (10-40 ms), and this module's
// schemas call it when they are built, so every process importing core paid that at start.
const count = (n: number): string => String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
const lengthOf = (input: unknown): string => (typeof input === 'string' ? count(input.length) : 'too many');

/** A template, message content or slot: a string of at most `templateCharacters`. */
const templateText = (notString: string) =>
  z.string({ error: notString }).max(CONTENT_LIMITS.templateCharacters, {
    error: (issue) =>
      `has ${lengthOf(issue.input)} characters; the limit is ${count(CONTENT_LIMITS.templateCharacters)} per template, message or slot: pass long reference text in a variable, or split it into slots`,
  });

/** A record of at most `max` entries, refused with `what` and the fix. */
const atMost =
  (max: number, what: string, fix: string) =>
  (record: Record<string, unknown>, ctx: z.core.$RefinementCtx): void => {
    const size = Object.keys(record).length;
    if (size > max)
      ctx.addIssue({ code: 'custom', message: `${count(size)} ${what}; the limit is ${count(max)}: ${fix}` });
  };

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
  content: templateText('content must be a string (the message template)'),
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
const nameLimit = `is longer than ${CONTENT_LIMITS.nameCharacters} characters; use a shorter name`;
const variablesSchema = z
  .record(
    z
      .string()
      .regex(variableNamePattern, 'a variable name is letters, digits and "_", not starting with a digit')
      .max(CONTENT_LIMITS.nameCharacters, `a variable name ${nameLimit}`),
    variableSpecSchema,
  )
  .superRefine(atMost(CONTENT_LIMITS.variables, 'variables', 'declare fewer, or pass related values as one object'));
const slotsSchema = z
  .record(
    z
      .string()
      .regex(variableNamePattern, 'a slot name is letters, digits and "_", not starting with a digit')
      .max(CONTENT_LIMITS.nameCharacters, `a slot name ${nameLimit}`),
    templateText('a slot must be a string (a template)'),
  )
  .superRefine(atMost(CONTENT_LIMITS.slots, 'slots', 'merge slots that always change together'));

/** All templates of a version together, so many slots cannot add up past what one push should hold. */
const totalCharacters = (
  content: { slots: Record<string, string>; template?: string; messages?: readonly { content: string }[] },
  ctx: z.core.$RefinementCtx,
): void => {
  let total = content.template?.length ?? 0;
  for (const message of content.messages ?? []) total += message.content.length;
  for (const slot of Object.values(content.slots)) total += slot.length;
  if (total > CONTENT_LIMITS.totalTemplateCharacters) {
    ctx.addIssue({
      code: 'custom',
      message: `the templates, messages and slots hold ${count(total)} characters in all; the limit is ${count(CONTENT_LIMITS.totalTemplateCharacters)}: pass long reference text in variables`,
    });
  }
};

const commonContent = {
  name: promptNameSchema,
  config: modelConfigSchema,
  variables: variablesSchema,
  slots: slotsSchema,
};

export const textContentSchema = strict({
  ...commonContent,
  type: z.literal('text'),
  template: templateText('template must be a string'),
}).superRefine(totalCharacters);

export const chatContentSchema = strict({
  ...commonContent,
  type: z.literal('chat'),
  messages: z
    .array(messageSchema)
    .min(1, 'a chat prompt needs at least one message')
    .max(
      CONTENT_LIMITS.messages,
      `a chat prompt has at most ${count(CONTENT_LIMITS.messages)} messages: merge consecutive messages of one role`,
    ),
}).superRefine(totalCharacters);

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

const LONE_SURROGATE = /[\uD800-\uDFFF]/u;

/** Why `text` is not well-formed UTF-16 (a lone surrogate cannot be encoded as UTF-8 nor hashed), or undefined. */
export const loneSurrogateProblem = (text: string): string | undefined => {
  const found = LONE_SURROGATE.exec(text);
  if (found === null) return undefined;
  const unit = text.charCodeAt(found.index).toString(16).toUpperCase();
  return `contains a lone UTF-16 surrogate (U+${unit} at character ${found.index}): text must be well-formed Unicode; send both halves of the surrogate pair, or remove it`;
};

const MAX_INPUT_ISSUES = 20;

/**
 * What untrusted JSON (or YAML) must not hold before it is validated or hashed: `__proto__` keys, values
 * nested more than `maxDepth` keys or indexes deep (schema checks and hashing recurse), strings or keys
 * with a lone surrogate, and numbers that are not finite (`1e309` parses as Infinity). Each issue names
 * its path and the fix.
 */
export const inputIssues = (
  value: unknown,
  prefix: readonly PropertyKey[] = [],
  maxDepth: number = CONTENT_LIMITS.depth,
): FieldIssue[] => {
  const issues: FieldIssue[] = [];
  const visit = (inner: unknown, path: readonly PropertyKey[], depth: number): void => {
    if (issues.length >= MAX_INPUT_ISSUES) return;
    if (typeof inner === 'number' && !Number.isFinite(inner)) {
      issues.push({ path: formatPath(path), message: `${inner} is not a finite number: send a number JSON can hold` });
      return;
    }
    if (typeof inner === 'string') {
      const problem = loneSurrogateProblem(inner);
      if (problem !== undefined) issues.push({ path: formatPath(path), message: problem });
      return;
    }
    if (inner === null || typeof inner !== 'object') return;
    const entries = Object.entries(inner);
    if (depth >= maxDepth && entries.length > 0) {
      issues.push({
        path: formatPath(path),
        message: `nests more than ${maxDepth} levels deep (counted from the top of the document): flatten the value`,
      });
      return;
    }
    for (const [key, item] of entries) {
      const itemPath = [...path, Array.isArray(inner) ? Number(key) : key];
      const keyProblem = loneSurrogateProblem(key);
      if (key === '__proto__')
        issues.push({ path: formatPath(itemPath), message: 'the key "__proto__" is not allowed' });
      else if (keyProblem !== undefined) issues.push({ path: formatPath(itemPath), message: `the key ${keyProblem}` });
      else visit(item, itemPath, depth + 1);
    }
  };
  visit(value, prefix, 0);
  return issues;
};

/** Parses untrusted input as prompt content (schema only; see `validatePromptContent` for semantics). */
export const parsePromptContent = (input: unknown, what = 'prompt content'): PromptContent => {
  const shapeIssues = inputIssues(input);
  const result = shapeIssues.length > 0 ? undefined : promptContentSchema.safeParse(input);
  if (result === undefined || !result.success) {
    const issues = result === undefined ? shapeIssues : zodIssues(result.error);
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
