import type {
  AssertionResult,
  EvalCaseResult,
  EvalProviderConfig,
  EvalRunListItem,
  EvalRunRecord,
  EvalRunSummary,
  EvalSuiteContent,
  EvalSuiteVersion,
} from '@promptops/core';
import type { EvalRunCaseRow, EvalRunRow, EvalSuiteRow } from './store.js';

/** Storage rows to the public JSON shapes (core's eval records). */

export const toSuiteVersion = (row: EvalSuiteRow): EvalSuiteVersion => ({
  name: row.name,
  version: row.version,
  sha: row.sha,
  prompt: row.prompt,
  cases: (JSON.parse(row.content) as EvalSuiteContent).cases.length,
  author: row.author,
  message: row.message,
  createdAt: row.createdAt,
});

export const toRunListItem = (row: EvalRunRow): EvalRunListItem => ({
  id: String(row.id),
  suite: { name: row.suiteName, sha: row.suiteSha },
  prompt: { name: row.promptName, sha: row.promptSha, version: row.promptVersion },
  provider: JSON.parse(row.provider) as EvalProviderConfig,
  startedAt: row.startedAt,
  durationMs: row.durationMs,
  passed: row.passed,
  summary: JSON.parse(row.summary) as EvalRunSummary,
  recordedBy: row.recordedBy,
  recordedAt: row.recordedAt,
  tenant:
    row.tenant === null
      ? null
      : { id: row.tenant, effectiveSha: row.effectiveSha ?? row.promptSha, overrideSha: row.overrideSha },
});

export const toCaseResult = (row: EvalRunCaseRow): EvalCaseResult => ({
  id: row.caseId,
  caseHash: row.caseHash,
  vars: JSON.parse(row.vars) as Record<string, unknown>,
  output: row.output,
  error: row.error,
  pass: row.pass,
  score: row.score,
  assertions: JSON.parse(row.assertions) as AssertionResult[],
  latencyMs: row.latencyMs,
  usage: { inputTokens: row.inputTokens, outputTokens: row.outputTokens },
  cost: row.cost,
  cached: row.cached,
});

export const toRunRecord = (row: EvalRunRow, cases: readonly EvalRunCaseRow[]): EvalRunRecord => ({
  ...toRunListItem(row),
  cases: cases.map(toCaseResult),
});
