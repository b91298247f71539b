import {
  PROMPT_NAME_PATTERN,
  PromptopsError,
  formatIssues,
  promptNameSchema,
  protoKeyIssues,
  zodIssues,
  type EvalSuiteContent,
} from '@promptops/core';
import { z } from 'zod';

/**
 * The registry's check of pushed suite content (already normalized by the client: datasets expanded,
 * defaults filled). This is the one seam where suite content is validated; core's suite parser replaces
 * the schema below once it exists, and nothing else here changes.
 */

/** Suite names read like prompt names: lowercase words, `/` between folders (e.g. `greeter-basics`). */
export const SUITE_NAME_PATTERN = PROMPT_NAME_PATTERN;
export const MAX_SUITE_CASES = 10_000;

const unit = (what: string) =>
  z
    .number({ error: `${what} must be a number from 0 to 1` })
    .min(0, `${what} must be at least 0`)
    .max(1, `${what} must be at most 1`);

const json = z.json();

const assertionSchema = z.strictObject({
  type: z.string().min(1, 'an assertion needs a type, e.g. "contains"').max(100),
  value: json.optional(),
  threshold: z.number().optional(),
  weight: z.number().min(0, 'weight must be 0 or more').optional(),
  options: z.record(z.string(), json).optional(),
});

const caseSchema = z.strictObject({
  id: z.string().min(1, 'a case needs an id').max(200, 'a case id has at most 200 characters'),
  description: z.string().max(2000).optional(),
  vars: z.record(z.string(), json),
  assert: z.array(assertionSchema),
  threshold: unit('threshold').optional(),
});

const suiteSchema = z.strictObject({
  name: z
    .string()
    .max(200, 'a suite name has at most 200 characters')
    .regex(
      SUITE_NAME_PATTERN,
      'a suite name is lowercase letters, digits, "_", "." and "-", with "/" between folders (e.g. "greeter-basics")',
    ),
  prompt: promptNameSchema,
  provider: z.strictObject({
    id: z.string().min(1, 'provider.id names a provider, e.g. "simulated" or "openai"'),
    model: z.string().min(1, 'provider.model names the model'),
    params: z.record(z.string(), json),
  }),
  threshold: unit('threshold'),
  passRate: unit('passRate'),
  cases: z
    .array(caseSchema)
    .min(1, 'a suite needs at least one case')
    .max(MAX_SUITE_CASES, `a suite has at most ${MAX_SUITE_CASES} cases`)
    .superRefine((cases, ctx) => {
      const seen = new Set<string>();
      cases.forEach((c, index) => {
        if (seen.has(c.id)) {
          ctx.addIssue({
            code: 'custom',
            path: [index, 'id'],
            message: `case id "${c.id}" appears twice; runs compare cases by id, so ids must be unique`,
          });
        }
        seen.add(c.id);
      });
    }),
});

/** Parses untrusted suite content; a bad field is a 400 naming each field path. */
export const validateSuiteContent = (input: unknown): EvalSuiteContent => {
  const protoIssues = protoKeyIssues(input, ['content']);
  const result = protoIssues.length > 0 ? undefined : suiteSchema.safeParse(input);
  if (result === undefined || !result.success) {
    const issues = result === undefined ? protoIssues : zodIssues(result.error, ['content']);
    const name =
      typeof input === 'object' && input !== null && typeof (input as { name?: unknown }).name === 'string'
        ? ` '${(input as { name: string }).name}'`
        : '';
    throw new PromptopsError('invalid', 'invalid_suite', `eval suite${name} is invalid:\n${formatIssues(issues)}`, {
      issues,
      fix: 'correct the fields listed in issues',
    });
  }
  return result.data as EvalSuiteContent;
};
