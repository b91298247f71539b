import pLimit from 'p-limit';
import {
  JUDGE_PROMPT,
  JUDGE_PROMPT_SHA,
  caseHash,
  casesFor,
  isJudgedAssertion,
  parseJudgeVerdict,
  promptSha,
  renderPrompt,
  runAssertion,
  scoreCase,
  suiteSha,
  type EvalAssertion,
  type EvalCase,
  type EvalCaseResult,
  type EvalRunInput,
  type EvalSuiteContent,
  type JudgeVerdict,
  type PromptContent,
  type TenantResolution,
} from '@promptops/core';
import { judgeCacheKey, outputCacheKey, type CachedResult, type ResultCache } from './cache.js';
import { costOf } from './pricing.js';
import type { Provider } from './providers/types.js';

/**
 * Runs a suite against one prompt version: renders each case with core's renderer, calls the provider
 * (through the result cache, at most `concurrency` calls at a time), asks the judge for `llm-rubric`
 * assertions, scores the assertions with core, and returns an `EvalRunInput` ready to record.
 * A provider failure (after its retries) fails that case with the error; the run goes on.
 */

export interface RunProgress {
  readonly done: number;
  readonly total: number;
  readonly result: EvalCaseResult;
}

export interface RunSuiteOptions {
  readonly suite: EvalSuiteContent;
  /** The base version under test. */
  readonly prompt: { readonly content: PromptContent; readonly version: number | null };
  /**
   * A tenant's run (core's `tenantEffectivePrompt` of this version): the suite's shared cases and that
   * tenant's own are rendered against `tenant.content`. Without it, only the shared cases run.
   */
  readonly tenant?: TenantResolution;
  readonly provider: Provider;
  /** The judge for an `llm-rubric` assertion; default: `provider`. */
  readonly judgeFor?: (assertion: EvalAssertion) => Provider;
  /** At most this many provider calls at once (default 4). */
  readonly concurrency?: number;
  /** null: no cache (`--no-cache`): every case calls the provider, and nothing is stored. */
  readonly cache: ResultCache | null;
  readonly onProgress?: (progress: RunProgress) => void;
  readonly signal?: AbortSignal;
  readonly now?: () => Date;
}

export const DEFAULT_CONCURRENCY = 4;

const message = (error: unknown): string => (error instanceof Error ? error.message : String(error));

export interface RunStats {
  /** Provider calls made (outputs and judge verdicts). */
  readonly calls: number;
  readonly cacheHits: number;
}

export const runSuite = async (options: RunSuiteOptions): Promise<EvalRunInput & { readonly stats: RunStats }> => {
  const { suite, provider, cache } = options;
  const limit = pLimit(Math.max(1, options.concurrency ?? DEFAULT_CONCURRENCY));
  const sha = promptSha(options.prompt.content);
  const tenant = options.tenant;
  // What the cases are rendered with, and what the cache keys on: the effective content, not the base.
  const content = tenant?.content ?? options.prompt.content;
  const effectiveSha = tenant?.sha ?? sha;
  const suiteCases = casesFor(suite, tenant?.tenant ?? null);
  const started = options.now?.() ?? new Date();
  const startedMs = performance.now();
  let calls = 0;
  let cacheHits = 0;
  let done = 0;

  /** Through the cache when there is one; `fresh` says whether the provider was called. */
  const cached = async (
    key: string,
    call: () => Promise<CachedResult>,
  ): Promise<{ value: CachedResult; fresh: boolean }> => {
    const hit = cache === null ? undefined : await cache.get(key);
    if (hit !== undefined) {
      cacheHits += 1;
      return { value: hit, fresh: false };
    }
    const value = await limit(() => {
      calls += 1;
      return call();
    });
    if (cache !== null) await cache.set(key, value);
    return { value, fresh: true };
  };

  const judge = async (assertion: EvalAssertion, output: string): Promise<JudgeVerdict> => {
    const judgeProvider = options.judgeFor?.(assertion) ?? provider;
    const rubric = String(assertion.value);
    try {
      const rendered = renderPrompt(JUDGE_PROMPT, { rubric, output });
      const key = judgeCacheKey({ judgeSha: JUDGE_PROMPT_SHA, rubric, output, provider: judgeProvider.config });
      const { value } = await cached(key, () =>
        judgeProvider.complete({ prompt: rendered, vars: {}, signal: options.signal }),
      );
      return parseJudgeVerdict(value.output);
    } catch (error) {
      return { pass: false, score: 0, reason: `the judge call failed: ${message(error)}` };
    }
  };

  const runCase = async (c: EvalCase): Promise<EvalCaseResult> => {
    const base = { id: c.id, caseHash: caseHash(c), vars: c.vars };
    const failed = (error: string, partial: Partial<EvalCaseResult> = {}): EvalCaseResult => ({
      ...base,
      output: null,
      error,
      pass: false,
      score: 0,
      assertions: [],
      latencyMs: null,
      usage: { inputTokens: null, outputTokens: null },
      cost: null,
      cached: false,
      ...partial,
    });
    let rendered;
    try {
      rendered = renderPrompt(content, c.vars);
    } catch (error) {
      return failed(`cannot render the prompt for this case: ${message(error)}`);
    }
    let result: { value: CachedResult; fresh: boolean };
    try {
      result = await cached(
        outputCacheKey({ promptSha: effectiveSha, vars: c.vars, provider: provider.config }),
        async () => {
          const answer = await provider.complete({ prompt: rendered, vars: c.vars, signal: options.signal });
          return { output: answer.output, latencyMs: answer.latencyMs, usage: answer.usage };
        },
      );
    } catch (error) {
      return failed(message(error));
    }
    const { output, latencyMs, usage } = result.value;
    const cost = costOf(provider.config, usage);
    const assertions = await Promise.all(
      c.assert.map(async (assertion) => {
        const verdict = isJudgedAssertion(assertion.type) ? await judge(assertion, output) : undefined;
        return runAssertion(assertion, {
          output,
          vars: c.vars,
          latencyMs,
          cost,
          ...(verdict === undefined ? {} : { verdict }),
        });
      }),
    );
    const verdict = scoreCase(assertions, c.threshold ?? suite.threshold);
    return {
      ...base,
      output,
      error: null,
      pass: verdict.pass,
      score: verdict.score,
      assertions,
      latencyMs,
      usage,
      cost,
      cached: !result.fresh,
    };
  };

  const cases = await Promise.all(
    suiteCases.map(async (c) => {
      const result = await runCase(c);
      done += 1;
      options.onProgress?.({ done, total: suiteCases.length, result });
      return result;
    }),
  );
  return {
    suite: { name: suite.name, sha: suiteSha(suite) },
    prompt: { name: options.prompt.content.name, sha, version: options.prompt.version },
    provider: provider.config,
    cases,
    startedAt: started.toISOString(),
    durationMs: Math.round(performance.now() - startedMs),
    ...(tenant === undefined
      ? {}
      : { tenant: { id: tenant.tenant, effectiveSha: tenant.sha, overrideSha: tenant.overrideSha } }),
    stats: { calls, cacheHits },
  };
};

/** Whether a run passes its suite: the share of passing cases reaches the suite's passRate. */
export const runPassed = (suite: EvalSuiteContent, cases: readonly EvalCaseResult[]): boolean =>
  cases.length > 0 && cases.filter((c) => c.pass).length / cases.length >= suite.passRate;
