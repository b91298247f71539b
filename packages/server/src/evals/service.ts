import {
  PromptopsError,
  assertLabelName,
  canonicalJson,
  casesFor,
  compareRuns,
  contentSha,
  shortSha,
  summarizeRun,
  type EvalGateVerdict,
  type EvalRunListItem,
  type EvalRunRecord,
  type EvalRunInput,
  type EvalSuiteContent,
  type EvalSuiteVersion,
  type PushSuiteResult,
  type RunComparisonResult,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { RegistryStore, RegistryTx } from '../registry/store.js';
import type { Transaction } from '../storage/transaction.js';
import type { EvalRunRow, EvalStore, EvalSuiteRow, EvalTx } from './store.js';
import type { EvalGate } from './gate.js';
import { toCaseResult, toRunListItem, toRunRecord, toSuiteVersion } from './mappers.js';
import { validateRunInput } from './run-input.js';
import { scoreUploadedCases } from './scoring.js';
import { validateSuiteContent } from './suite-content.js';

const MAX_MESSAGE_LENGTH = 2000;
/** Tolerance for float pass rates. */
const EPSILON = 1e-9;

export interface RunListFilter {
  readonly prompt?: string;
  readonly sha?: string;
  readonly suite?: string;
}

export type EvalService = ReturnType<typeof createEvalService>;

const suiteNotFound = (name: string, sha?: string, prompt?: string): PromptopsError =>
  new PromptopsError(
    'not_found',
    'suite_not_found',
    sha !== undefined
      ? `eval suite '${name}' has no version ${shortSha(sha)} in this project`
      : prompt !== undefined
        ? `no eval suite '${name}' tests prompt '${prompt}' in this project`
        : `eval suite '${name}' does not exist in this project`,
    {
      fix: 'push the suite first (POST /api/v1/evals/suites, or send its content with the run; `promptops eval --upload` does)',
      details: { name, ...(prompt === undefined ? {} : { prompt }) },
    },
  );

/** A run's suite is named by its sha; the content it may carry must be that very version. */
const carriedSuite = (input: EvalRunInput): EvalSuiteContent | undefined => {
  if (input.suite.content === undefined) return undefined;
  const content = validateSuiteContent(input.suite.content, 'suite.content');
  if (content.name !== input.suite.name || contentSha(content) !== input.suite.sha) {
    const message = `is suite '${content.name}' ${shortSha(contentSha(content))}, not the '${input.suite.name}' ${shortSha(input.suite.sha)} the run names`;
    throw new PromptopsError('invalid', 'invalid_run', `the eval run is invalid:\n  - suite.content: ${message}`, {
      issues: [{ path: 'suite.content', message }],
      fix: 'send the content of the suite version the run used (suite.sha is the sha of its canonical JSON)',
    });
  }
  return content;
};

/** Audit targets of eval records: under the prompt they test, so a prompt's audit view lists them. */
const suiteTarget = (prompt: string, suite: string): string => `${prompt}:evals/${suite}`;

const runNotFound = (id: string): PromptopsError =>
  new PromptopsError('not_found', 'run_not_found', `eval run '${id}' does not exist in this project`, {
    fix: 'list runs with `promptops runs list` / GET /api/v1/evals/runs',
  });

/**
 * The uploaded case ids must be exactly the run's: the suite's shared cases, plus the tenant's own for a
 * tenant's run; none missing, none extra, none twice.
 */
const checkCaseIds = (suite: EvalSuiteContent, input: EvalRunInput): void => {
  const tenant = input.tenant?.id ?? null;
  const expected = new Set(casesFor(suite, tenant).map((c) => c.id));
  const seen = new Set<string>();
  const duplicate: string[] = [];
  const extra: string[] = [];
  for (const c of input.cases) {
    if (seen.has(c.id)) duplicate.push(c.id);
    else if (!expected.has(c.id)) extra.push(c.id);
    seen.add(c.id);
  }
  const missing = [...expected].filter((id) => !seen.has(id));
  if (missing.length + extra.length + duplicate.length === 0) return;
  const parts = [
    missing.length > 0 ? `missing ${missing.join(', ')}` : '',
    extra.length > 0 ? `not in the suite ${extra.join(', ')}` : '',
    duplicate.length > 0 ? `repeated ${duplicate.join(', ')}` : '',
  ].filter((part) => part !== '');
  throw new PromptopsError(
    'unprocessable',
    'case_mismatch',
    `the run's cases do not match suite '${suite.name}' (${shortSha(input.suite.sha)})${tenant === null ? '' : ` for tenant ${tenant}`}: ${parts.join('; ')}`,
    {
      fix:
        tenant === null
          ? 'upload one result for every case of the suite version named in suite.sha that names no tenant'
          : `upload one result for every case of the suite that names no tenant or names ${tenant}`,
      details: { missing, extra, duplicate },
    },
  );
};

interface Tx {
  readonly registry: RegistryTx;
  readonly evals: EvalTx;
}

/** The stores the eval service uses. */
export interface EvalStores {
  readonly registry: RegistryStore;
  readonly evals: EvalStore;
  readonly transaction: Transaction<Tx>;
}

export const createEvalService = ({ registry, evals, transaction }: EvalStores, clock: Clock, gate: EvalGate) => {
  /** Registers a suite version in `tx` (idempotent on content); a new one is audited. */
  const insertSuite = async (
    tx: Tx,
    actor: Actor,
    content: EvalSuiteContent,
    message: string,
  ): Promise<{ row: EvalSuiteRow; created: boolean }> => {
    const at = clock.now().toISOString();
    const inserted = await tx.evals.insertEvalSuite({
      projectId: actor.projectId,
      name: content.name,
      sha: contentSha(content),
      prompt: content.prompt,
      content: canonicalJson(content),
      author: actor.name,
      message: message.slice(0, MAX_MESSAGE_LENGTH),
      createdAt: at,
    });
    const { row } = inserted;
    if (inserted.created) {
      await tx.registry.appendAudit({
        projectId: actor.projectId,
        at,
        actor: actor.name,
        action: 'eval.suite.created',
        target: suiteTarget(row.prompt, row.name),
        data: {
          prompt: row.prompt,
          suite: row.name,
          version: row.version,
          sha: row.sha,
          cases: content.cases.length,
          message: row.message,
        },
      });
    }
    return inserted;
  };

  const requireRun = async (actor: Actor, id: string): Promise<EvalRunRow> => {
    const numeric = /^[0-9]{1,15}$/.test(id) ? Number(id) : Number.NaN;
    const row = Number.isSafeInteger(numeric) ? await evals.getEvalRun(actor.projectId, numeric) : undefined;
    if (row === undefined) throw runNotFound(id);
    return row;
  };

  const requireVersion = async (actor: Actor, name: string, sha: string) => {
    const prompt = await registry.getPrompt(actor.projectId, name);
    if (prompt === undefined || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
    const version = await registry.getVersionBySha(prompt.id, sha);
    if (version === undefined) {
      throw new PromptopsError(
        'not_found',
        'version_not_found',
        `prompt '${name}' has no version with sha ${shortSha(sha)} in this project`,
        { fix: `push that version first; see \`promptops log ${name}\` for its shas`, details: { name, sha } },
      );
    }
    return version;
  };

  return {
    async pushSuite(actor: Actor, input: { content: unknown; message?: string }): Promise<PushSuiteResult> {
      const content = validateSuiteContent(input.content);
      const { row, created } = await transaction((tx) => insertSuite(tx, actor, content, input.message ?? ''));
      return { name: row.name, prompt: row.prompt, sha: row.sha, version: row.version, created };
    },

    async listSuites(actor: Actor): Promise<EvalSuiteVersion[]> {
      return (await evals.listEvalSuites(actor.projectId)).map(toSuiteVersion);
    },

    /** The versions of the suites named `name` (of one prompt's, when given). */
    async suiteVersions(
      actor: Actor,
      name: string,
      prompt?: string,
    ): Promise<{ name: string; versions: (EvalSuiteVersion & { content: EvalSuiteContent })[] }> {
      const rows = await evals.listEvalSuiteVersions(actor.projectId, name, prompt);
      if (rows.length === 0) throw suiteNotFound(name, undefined, prompt);
      return {
        name,
        versions: rows.map((row) => ({ ...toSuiteVersion(row), content: JSON.parse(row.content) as EvalSuiteContent })),
      };
    },

    /**
     * Records an uploaded run. Checked against the registry: the suite version exists here (or comes with
     * the run: it is then registered in the same transaction, so a refused run leaves nothing), the prompt
     * sha is a version of the suite's prompt here, the cases are exactly the suite's. Each case is
     * re-scored and `passed`/`summary` are computed here; the client's verdicts are not taken. The suite
     * version (when new) and the run are audited.
     */
    async recordRun(actor: Actor, body: unknown): Promise<EvalRunRecord> {
      const input = validateRunInput(body);
      const carried = carriedSuite(input);
      const registered = await evals.getEvalSuite(actor.projectId, input.suite.name, input.suite.sha);
      if (registered === undefined && carried === undefined) throw suiteNotFound(input.suite.name, input.suite.sha);
      const suite = carried ?? (JSON.parse(registered!.content) as EvalSuiteContent);
      if (suite.prompt !== input.prompt.name) {
        throw new PromptopsError(
          'unprocessable',
          'prompt_mismatch',
          `suite '${suite.name}' tests prompt '${suite.prompt}', but the run names prompt '${input.prompt.name}'`,
          { fix: `record runs of this suite against versions of '${suite.prompt}'` },
        );
      }
      const version = await requireVersion(actor, input.prompt.name, input.prompt.sha);
      if (input.prompt.version !== null && input.prompt.version !== version.version) {
        throw new PromptopsError(
          'unprocessable',
          'version_mismatch',
          `prompt '${version.name}' sha ${shortSha(version.sha)} is v${version.version}, but the run says v${input.prompt.version}`,
          { fix: `send version ${version.version} (or null) with this sha` },
        );
      }
      checkCaseIds(suite, input);
      const cases = scoreUploadedCases(suite, input.cases);
      const summary = summarizeRun(cases);
      const passed = summary.passRate >= suite.passRate - EPSILON;
      const row = await transaction(async (tx) => {
        const suiteRow =
          carried === undefined ? registered! : (await insertSuite(tx, actor, carried, 'recorded with a run')).row;
        const run = await tx.evals.insertEvalRun(
          {
            projectId: actor.projectId,
            suiteName: suiteRow.name,
            suiteSha: suiteRow.sha,
            suiteVersion: suiteRow.version,
            promptName: version.name,
            promptSha: version.sha,
            promptVersion: version.version,
            provider: canonicalJson(input.provider),
            passed,
            passRate: summary.passRate,
            summary: canonicalJson(summary),
            startedAt: input.startedAt,
            durationMs: input.durationMs,
            recordedBy: actor.name,
            recordedAt: clock.now().toISOString(),
            tenant: input.tenant?.id ?? null,
            effectiveSha: input.tenant?.effectiveSha ?? null,
            overrideSha: input.tenant?.overrideSha ?? null,
          },
          cases.map((c) => ({
            caseId: c.id,
            caseHash: c.caseHash,
            pass: c.pass,
            score: c.score,
            vars: canonicalJson(c.vars),
            output: c.output,
            error: c.error,
            assertions: canonicalJson(c.assertions),
            latencyMs: c.latencyMs,
            inputTokens: c.usage.inputTokens,
            outputTokens: c.usage.outputTokens,
            cost: c.cost,
            cached: c.cached,
          })),
        );
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at: run.recordedAt,
          actor: actor.name,
          action: 'eval.run.recorded',
          target: suiteTarget(run.promptName, run.suiteName),
          data: {
            run: run.id,
            prompt: run.promptName,
            promptSha: run.promptSha,
            promptVersion: run.promptVersion,
            suite: run.suiteName,
            suiteSha: run.suiteSha,
            suiteVersion: run.suiteVersion,
            passed: run.passed,
            passRate: run.passRate,
            cases: { total: summary.total, passed: summary.passed, errors: summary.errors },
            ...(run.tenant === null ? {} : { tenant: run.tenant, effectiveSha: run.effectiveSha }),
          },
        });
        return run;
      });
      return toRunRecord(row, await evals.listEvalRunCases(row.id));
    },

    async listRuns(
      actor: Actor,
      filter: RunListFilter,
      page: { limit: number; before?: number },
    ): Promise<{ runs: EvalRunListItem[]; nextBefore: string | null }> {
      const rows = await evals.listEvalRuns(
        actor.projectId,
        {
          ...(filter.prompt === undefined ? {} : { promptName: filter.prompt }),
          ...(filter.sha === undefined ? {} : { promptShaPrefix: filter.sha }),
          ...(filter.suite === undefined ? {} : { suiteName: filter.suite }),
        },
        page,
      );
      const last = rows.at(-1);
      return {
        runs: rows.map(toRunListItem),
        nextBefore: rows.length === page.limit && last !== undefined ? String(last.id) : null,
      };
    },

    async getRun(actor: Actor, id: string): Promise<EvalRunRecord> {
      const row = await requireRun(actor, id);
      return toRunRecord(row, await evals.listEvalRunCases(row.id));
    },

    async compare(actor: Actor, id: string, baseId: string): Promise<RunComparisonResult> {
      const [candidate, base] = await Promise.all([requireRun(actor, id), requireRun(actor, baseId)]);
      const [candidateCases, baseCases] = await Promise.all([
        evals.listEvalRunCases(candidate.id),
        evals.listEvalRunCases(base.id),
      ]);
      return {
        ...compareRuns({ cases: baseCases.map(toCaseResult) }, { cases: candidateCases.map(toCaseResult) }),
        base: toRunListItem(base),
        candidate: toRunListItem(candidate),
      };
    },

    /** The gate verdict for `ref` of prompt `name` moving to `label`, as the label policy will ask it. */
    async gate(
      actor: Actor,
      name: string,
      input: { ref: string; label: string; suites: readonly { suite: string; passRate?: number }[] },
    ): Promise<EvalGateVerdict> {
      assertLabelName(input.label);
      const prompt = await registry.getPrompt(actor.projectId, name);
      if (prompt === undefined || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);
      const version = await resolveRef(registry, prompt, input.ref);
      const label = await registry.getLabel(prompt.id, input.label);
      return gate.check({
        projectId: actor.projectId,
        prompt: name,
        sha: version.sha,
        label: input.label,
        labelSha: label?.sha ?? null,
        suites: input.suites,
      });
    },
  };
};
