import {
  PromptopsError,
  TENANT_PATTERN,
  formatIssues,
  promptNameSchema,
  protoKeyIssues,
  zodIssues,
  type EvalRunInput,
} from '@promptops/core';
import * as z from 'zod';
import { MAX_SUITE_CASES, SUITE_NAME_PATTERN } from './suite-content.js';

/** The shape of an uploaded run (`POST /api/v1/evals/runs`); what it means is checked by the service. */

export const MAX_OUTPUT_CHARS = 128 * 1024;
export const MAX_ERROR_CHARS = 8 * 1024;
const MAX_REASON_CHARS = 4 * 1024;

const sha = z.string().regex(/^[0-9a-f]{64}$/, 'a sha is 64 lowercase hex characters');
const count = z.number().int().min(0).nullable();
const nonNegative = z.number().min(0).nullable();
const json = z.json();

const assertionResultSchema = z.strictObject({
  type: z.string().min(1).max(100),
  pass: z.boolean(),
  score: z.number().min(0, 'score is 0..1').max(1, 'score is 0..1'),
  weight: z.number().min(0),
  reason: z.string().max(MAX_REASON_CHARS),
});

const caseResultSchema = z.strictObject({
  id: z.string().min(1).max(200),
  caseHash: sha,
  vars: z.record(z.string(), json),
  output: z.string().max(MAX_OUTPUT_CHARS, `output has at most ${MAX_OUTPUT_CHARS} characters`).nullable(),
  error: z.string().max(MAX_ERROR_CHARS).nullable(),
  pass: z.boolean(),
  score: z.number().min(0).max(1),
  assertions: z.array(assertionResultSchema),
  latencyMs: nonNegative,
  usage: z.strictObject({ inputTokens: count, outputTokens: count }),
  cost: nonNegative,
  cached: z.boolean(),
});

const runInputSchema = z.strictObject({
  // `content`, when sent, is checked by the service with the suite rules (as a pushed suite is).
  suite: z.strictObject({
    name: z.string().regex(SUITE_NAME_PATTERN, 'not a suite name'),
    sha,
    content: z.unknown().optional(),
  }),
  prompt: z.strictObject({ name: promptNameSchema, sha, version: z.number().int().min(1).nullable() }),
  provider: z.strictObject({
    id: z.string().min(1),
    model: z.string().min(1),
    params: z.record(z.string(), json),
  }),
  cases: z.array(caseResultSchema).max(MAX_SUITE_CASES),
  startedAt: z.iso.datetime({ offset: true, error: 'startedAt must be an ISO-8601 time, e.g. 2025-01-31T12:00:00Z' }),
  durationMs: z.number().min(0),
  // A tenant's run: which tenant, and the effective content its cases were rendered with.
  tenant: z
    .strictObject({
      id: z.string().regex(TENANT_PATTERN, 'not a tenant id (letters, digits, "_", "." and "-", e.g. acme)'),
      effectiveSha: sha,
      overrideSha: sha.nullable(),
    })
    .nullable()
    .optional(),
});

/** Parses an uploaded run; a bad field is a 400 naming each field path. */
export const validateRunInput = (input: unknown): EvalRunInput => {
  const protoIssues = protoKeyIssues(input);
  const result = protoIssues.length > 0 ? undefined : runInputSchema.safeParse(input);
  if (result === undefined || !result.success) {
    const issues = result === undefined ? protoIssues : zodIssues(result.error);
    throw new PromptopsError('invalid', 'invalid_run', `the eval run is invalid:\n${formatIssues(issues)}`, {
      issues,
      fix: 'correct the fields listed in issues (the shape is EvalRunInput in docs/api.md)',
    });
  }
  return result.data as EvalRunInput;
};
