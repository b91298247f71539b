import * as z from 'zod';
import { contentSha } from './canonical.js';
import { PromptopsError, type FieldIssue } from './errors.js';
import {
  CONTENT_LIMITS,
  inputIssues,
  zodIssues,
  type JsonValue,
  type PromptContent,
  type VariableSpec,
} from './schema.js';

/**
 * A tenant's override of a prompt: replacement text for named slots, defaults for declared variables and
 * a small patch of model parameters. Nothing else of the prompt can be overridden, so a fix to the shared
 * part reaches every tenant. The override is content-addressed like a version (its sha is the canonical
 * JSON of its normalized form); the effective prompt is the base content with the override applied, and
 * its sha is the sha of that content alone.
 */
export interface OverrideParams {
  readonly temperature?: number;
  readonly maxTokens?: number;
  readonly model?: string;
}

export interface PromptOverride {
  readonly slots?: Readonly<Record<string, string>>;
  readonly variables?: Readonly<Record<string, JsonValue>>;
  readonly params?: OverrideParams;
}

/** Tenant ids: what a URL path segment, a header and a key scope can carry unescaped. */
export const TENANT_PATTERN = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/;

const allowed = (keys: readonly string[]) => (issue: { code?: string; keys?: readonly string[] }) =>
  issue.code === 'unrecognized_keys'
    ? `unknown field ${(issue.keys ?? []).map((k) => `"${k}"`).join(', ')}; an override may set only ${keys.join(', ')}`
    : undefined;

const paramsSchema = z.strictObject(
  {
    temperature: z.number({ error: 'temperature must be a number from 0 to 2' }).min(0).max(2).optional(),
    maxTokens: z.number({ error: 'maxTokens must be a positive integer' }).int().positive().optional(),
    model: z.string({ error: 'model must be a model name' }).min(1, 'model must not be empty').optional(),
  },
  { error: allowed(['params.temperature', 'params.maxTokens', 'params.model']) },
);

const overrideSchema = z.strictObject(
  {
    slots: z
      .record(
        z.string(),
        z
          .string({ error: 'a slot override must be a string (the slot template)' })
          .max(CONTENT_LIMITS.templateCharacters, 'a slot override is longer than a template may be'),
      )
      .optional(),
    variables: z.record(z.string(), z.json()).optional(),
    params: paramsSchema.optional(),
  },
  { error: allowed(['slots', 'variables', 'params']) },
);

const invalid = (what: string, issues: FieldIssue[]): PromptopsError =>
  new PromptopsError(
    'invalid',
    'invalid_override',
    `${what} is invalid:\n${issues.map((i) => `  - ${i.path || '(root)'}: ${i.message}`).join('\n')}`,
    {
      issues,
      fix: 'an override sets only slots (text), variables (defaults) and params (temperature, maxTokens, model)',
    },
  );

/** Sorted keys, and empty sections dropped: `{}` and `{ slots: {} }` are the same override, with one sha. */
const normalize = (input: PromptOverride): PromptOverride => {
  const out: { slots?: Record<string, string>; variables?: Record<string, JsonValue>; params?: OverrideParams } = {};
  if (input.slots !== undefined && Object.keys(input.slots).length > 0) out.slots = { ...input.slots };
  if (input.variables !== undefined && Object.keys(input.variables).length > 0) out.variables = { ...input.variables };
  const params = Object.fromEntries(Object.entries(input.params ?? {}).filter(([, v]) => v !== undefined));
  if (Object.keys(params).length > 0) out.params = params as OverrideParams;
  return out;
};

/** Parses untrusted input as an override (its shape only; `checkOverride` checks it against a prompt). */
export const parseOverride = (input: unknown, what = 'the override'): PromptOverride => {
  const shape = inputIssues(input);
  if (shape.length > 0) throw invalid(what, shape);
  const result = overrideSchema.safeParse(input);
  if (!result.success) throw invalid(what, zodIssues(result.error));
  return normalize(result.data as PromptOverride);
};

const listOf = (names: readonly string[]): string => (names.length === 0 ? 'none' : names.join(', '));

/**
 * Refuses an override that names a slot or variable `base` does not declare, listing those it has
 * (`override_unknown_slot` for slots: the case a base change can cause, `invalid_override` otherwise).
 */
export const checkOverride = (base: PromptContent, override: PromptOverride): void => {
  const slots = Object.keys(base.slots).sort();
  const missing = Object.keys(override.slots ?? {}).filter((s) => !Object.hasOwn(base.slots, s));
  if (missing.length > 0) {
    throw new PromptopsError(
      'invalid',
      'override_unknown_slot',
      `the override names slot${missing.length > 1 ? 's' : ''} ${missing.map((s) => `'${s}'`).join(', ')} that prompt '${base.name}' does not have; its slots: ${listOf(slots)}`,
      {
        details: { missing, slots },
        issues: missing.map((s) => ({ path: `slots.${s}`, message: `prompt '${base.name}' has no slot '${s}'` })),
        fix: `override only the prompt's slots (${listOf(slots)}), or add the slot to the prompt first`,
      },
    );
  }
  const variables = Object.keys(base.variables).sort();
  const unknown = Object.keys(override.variables ?? {}).filter((v) => !Object.hasOwn(base.variables, v));
  if (unknown.length > 0) {
    throw invalid(
      'the override',
      unknown.map((v) => ({
        path: `variables.${v}`,
        message: `prompt '${base.name}' declares no variable '${v}'; its variables: ${listOf(variables)}`,
      })),
    );
  }
};

/** The override's identity: sha256 of its normalized canonical JSON. */
export const overrideSha = (override: PromptOverride): string => contentSha(normalize(override));

export const isEmptyOverride = (override: PromptOverride): boolean => Object.keys(normalize(override)).length === 0;

/** The base content with `override` applied (after `checkOverride`): only slots, defaults and params change. */
export const applyOverride = (base: PromptContent, override: PromptOverride): PromptContent => {
  if (isEmptyOverride(override)) return base;
  const variables = { ...base.variables };
  for (const [name, value] of Object.entries(override.variables ?? {})) {
    variables[name] = { ...variables[name]!, default: value as VariableSpec['default'] };
  }
  const { temperature, maxTokens, model } = override.params ?? {};
  const params = { ...base.config.params };
  if (temperature !== undefined) params.temperature = temperature;
  if (maxTokens !== undefined) params.max_tokens = maxTokens;
  const config = { ...base.config, params, ...(model === undefined ? {} : { model }) };
  return { ...base, config, variables, slots: { ...base.slots, ...override.slots } };
};

export interface EffectivePrompt {
  readonly content: PromptContent;
  /** sha of the canonical effective content: the base sha when the override changes nothing. */
  readonly sha: string;
  readonly baseSha: string;
  /** null without an override. */
  readonly overrideSha: string | null;
}

/** Base content + override -> the effective prompt and its three shas. Checks the override against the base. */
export const effectivePrompt = (base: PromptContent, override: PromptOverride | null): EffectivePrompt => {
  const baseSha = contentSha(base);
  if (override === null) return { content: base, sha: baseSha, baseSha, overrideSha: null };
  checkOverride(base, override);
  const content = applyOverride(base, override);
  return {
    content,
    sha: content === base ? baseSha : contentSha(content),
    baseSha,
    overrideSha: overrideSha(override),
  };
};

/** Tenants whose override names a slot `next` lacks: what a base change would orphan, tenant -> slots. */
export const orphanedSlots = (
  next: PromptContent,
  overrides: Readonly<Record<string, PromptOverride>>,
): Record<string, string[]> => {
  const out: Record<string, string[]> = {};
  for (const [tenant, override] of Object.entries(overrides)) {
    const missing = Object.keys(override.slots ?? {}).filter((s) => !Object.hasOwn(next.slots, s));
    if (missing.length > 0) out[tenant] = missing.sort();
  }
  return out;
};
