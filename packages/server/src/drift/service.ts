import {
  PromptopsError,
  buildDriftReport,
  driftReportJson,
  type DriftOptions,
  type DriftPair,
  type DriftReport,
  type DriftReportListItem,
  type DriftRequest,
  type DriftSample,
  type StoredDriftReport,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import type { EvalStore } from '../evals/store.js';
import { unknownPrompt } from '../prompts/errors.js';
import { resolveRef } from '../prompts/resolve-ref.js';
import type { PromptRow, RegistryStore, RegistryTx, VersionRow } from '../registry/store.js';
import type { RolloutReads } from '../rollouts/store.js';
import type { Transaction } from '../storage/transaction.js';
import type { TraceStore } from '../traces/store.js';
import { parseInstant } from '../traces/time.js';
import { invalid } from './errors.js';
import { driftEmbeddings, type EmbeddingsSettings } from './embeddings.js';
import { offlinePairs } from './offline.js';
import { shadowTracePairs, traceSample } from './pairs.js';
import { shadowRollout } from './shadow.js';
import type { DriftReportRow, DriftReportSummaryRow, DriftStore, DriftTx } from './store.js';

/** Most traces read per version for a live report (newest first): enough for any test, bounded in memory. */
export const MAX_LIVE_SAMPLES = 5000;
const TRACE_PAGE = 500;
const DEFAULT_WINDOW = '24h';

/** The stores the drift service uses. */
export interface DriftStores {
  readonly registry: RegistryStore;
  readonly evals: EvalStore;
  readonly traces: TraceStore;
  readonly rollouts: Pick<RolloutReads, 'getRollout'>;
  readonly drift: DriftStore;
  readonly transaction: Transaction<{ readonly registry: RegistryTx; readonly drift: DriftTx }>;
}

export type DriftService = ReturnType<typeof createDriftService>;

const reportNotFound = (id: number): PromptopsError =>
  new PromptopsError('not_found', 'drift_report_not_found', `drift report ${id} does not exist in this project`, {
    fix: 'list a prompt’s reports: GET /api/v1/prompts/NAME/drift (promptops drift list NAME)',
  });

/** The fields each source takes, named when missing or out of place (before anything is read). */
const checkFields = (request: DriftRequest): void => {
  const { source } = request;
  if (source !== 'shadow') {
    for (const ref of ['a', 'b'] as const)
      if (request[ref] === undefined)
        throw invalid(
          ref,
          `is required for a ${source} report`,
          'name the baseline and the candidate: "a": "v17", "b": "v18"',
        );
    if (request.rollout !== undefined)
      throw invalid('rollout', 'applies to shadow reports only', 'leave it out, or use "source": "shadow"');
  } else if (request.rollout === undefined) {
    throw invalid('rollout', 'is required for a shadow report', 'name the shadow rollout: "rollout": "ro_…"');
  }
  if (source === 'offline') {
    if (request.suite === undefined)
      throw invalid(
        'suite',
        'is required for an offline report',
        'name the eval suite to pair: "suite": "greeter-basics"',
      );
    if (request.window !== undefined)
      throw invalid('window', 'applies to live and shadow reports only', 'leave it out, or use "source": "live"');
  } else if (request.suite !== undefined) {
    throw invalid('suite', 'applies to offline reports only', 'leave it out, or use "source": "offline"');
  }
};

const versionName = (row: Pick<VersionRow, 'version'>): string => `v${row.version}`;

const toListItem = (row: DriftReportSummaryRow): DriftReportListItem => ({
  id: String(row.id),
  prompt: row.promptName,
  a: { sha: row.aSha, version: row.aVersion },
  b: { sha: row.bSha, version: row.bVersion },
  source: row.source as DriftReportListItem['source'],
  suite: row.suite,
  window:
    row.windowSince === null || row.windowUntil === null ? null : { since: row.windowSince, until: row.windowUntil },
  drifted: row.drifted,
  verdict: row.verdict,
  createdBy: row.createdBy,
  createdAt: row.createdAt,
});

const toStored = (row: DriftReportRow): StoredDriftReport => ({
  ...toListItem(row),
  report: JSON.parse(row.report) as DriftReport,
});

/** What the drift service may call outside the database: an embeddings provider, none by default. */
export interface DriftServiceOptions {
  readonly embeddings?: EmbeddingsSettings;
}

export const createDriftService = (stores: DriftStores, clock: Clock, options: DriftServiceOptions = {}) => {
  const { registry, evals, traces, rollouts, drift, transaction } = stores;

  const requirePrompt = async (projectId: number, name: string): Promise<PromptRow> => {
    const prompt = await registry.getPrompt(projectId, name);
    if (prompt === undefined || prompt.headSha === null) throw await unknownPrompt(registry, projectId, name);
    return prompt;
  };

  /** Traces of one version in [since, until), newest first, at most MAX_LIVE_SAMPLES with an output. */
  const liveSamples = async (projectId: number, prompt: string, sha: string, sinceMs: number, untilMs: number) => {
    const rows = [];
    let after: { startedAtMs: number; id: number } | undefined;
    while (rows.length < MAX_LIVE_SAMPLES) {
      const page = await traces.queryTraces(
        projectId,
        { promptName: prompt, shaPrefix: sha, status: 'ok', sinceMs, untilMs },
        { limit: TRACE_PAGE, ...(after === undefined ? {} : { after }) },
      );
      for (const row of page) if (row.output !== null && rows.length < MAX_LIVE_SAMPLES) rows.push(row);
      if (page.length < TRACE_PAGE) break;
      const last = page[page.length - 1]!;
      after = { startedAtMs: last.startedAtMs, id: last.id };
    }
    return rows.map((row) => traceSample(row as typeof row & { output: string }));
  };

  const windowOf = (window: DriftRequest['window']): { sinceMs: number; untilMs: number } => {
    const nowMs = clock.now().getTime();
    const given = window ?? DEFAULT_WINDOW;
    if (typeof given === 'string') return { sinceMs: parseInstant(given, 'window', nowMs), untilMs: nowMs };
    const sinceMs = parseInstant(given.since, 'window.since', nowMs);
    const untilMs = given.until === undefined ? nowMs : parseInstant(given.until, 'window.until', nowMs);
    if (!(sinceMs < untilMs))
      throw invalid('window', 'must start before it ends', 'e.g. { "since": "7d", "until": "1d" }');
    return { sinceMs, untilMs };
  };

  return {
    /** Builds the report the request asks for and stores it (with its audit entry). */
    async create(actor: Actor, request: DriftRequest): Promise<StoredDriftReport> {
      checkFields(request);
      const prompt = await requirePrompt(actor.projectId, request.prompt);
      let a: VersionRow;
      let b: VersionRow;
      if (request.source === 'shadow') {
        ({ a, b } = await shadowRollout(registry, rollouts, actor.projectId, prompt, request));
      } else {
        [a, b] = await Promise.all([
          resolveRef(registry, prompt, request.a!),
          resolveRef(registry, prompt, request.b!),
        ]);
      }
      let outputs: { pairs: DriftPair[] } | { samples: { a: DriftSample[]; b: DriftSample[] } };
      let window: { sinceMs: number; untilMs: number } | null = null;
      if (request.source === 'shadow') {
        if (request.window !== undefined) window = windowOf(request.window);
        const found = await traces.shadowPairs(actor.projectId, request.rollout!, {
          limit: MAX_LIVE_SAMPLES,
          ...(window === null ? {} : window),
        });
        outputs = { pairs: shadowTracePairs(found.pairs) };
      } else if (request.source === 'offline') {
        const suite = request.suite!;
        if ((await evals.latestEvalSuite(actor.projectId, prompt.name, suite)) === undefined) {
          throw new PromptopsError(
            'not_found',
            'suite_not_found',
            `no eval suite '${suite}' tests prompt '${prompt.name}' in this project`,
            {
              fix: 'push the suite first (`promptops eval run --upload` does)',
              details: { name: suite, prompt: prompt.name },
            },
          );
        }
        const refs = { a: request.a!, b: request.b! };
        outputs = { pairs: await offlinePairs(evals, actor.projectId, prompt.name, a, b, suite, refs) };
      } else {
        window = windowOf(request.window);
        const [samplesA, samplesB] = await Promise.all(
          [a, b].map((v) => liveSamples(actor.projectId, prompt.name, v.sha, window!.sinceMs, window!.untilMs)),
        );
        outputs = { samples: { a: samplesA!, b: samplesB! } };
      }
      const embeddings =
        options.embeddings === undefined ? undefined : await driftEmbeddings(options.embeddings, outputs);
      const report = buildDriftReport({
        versions: { a: versionName(a), b: versionName(b) },
        source: request.source,
        ...outputs,
        // Partial minSamples are merged with the defaults by core's input check.
        options: (request.options ?? {}) as Partial<DriftOptions>,
        ...(embeddings === undefined ? {} : { embeddings }),
      });
      const at = clock.now().toISOString();
      const row = await transaction(async (tx) => {
        const inserted = await tx.drift.insertDriftReport({
          projectId: actor.projectId,
          promptName: prompt.name,
          aSha: a.sha,
          aVersion: a.version,
          bSha: b.sha,
          bVersion: b.version,
          source: request.source,
          suite: request.suite ?? null,
          windowSince: window === null ? null : new Date(window.sinceMs).toISOString(),
          windowUntil: window === null ? null : new Date(window.untilMs).toISOString(),
          drifted: report.drifted,
          verdict: report.verdict,
          report: driftReportJson(report),
          createdBy: actor.name,
          createdAt: at,
        });
        await tx.registry.appendAudit({
          projectId: actor.projectId,
          at,
          actor: actor.name,
          action: 'drift.reported',
          target: `${prompt.name}:drift`,
          data: {
            report: inserted.id,
            prompt: prompt.name,
            a: { sha: a.sha, version: a.version },
            b: { sha: b.sha, version: b.version },
            source: request.source,
            ...(request.suite === undefined ? {} : { suite: request.suite }),
            ...(request.rollout === undefined ? {} : { rollout: request.rollout }),
            drifted: report.drifted,
          },
        });
        return inserted;
      });
      return toStored(row);
    },

    async get(actor: Actor, id: number): Promise<StoredDriftReport> {
      const row = await drift.getDriftReport(actor.projectId, id);
      if (row === undefined) throw reportNotFound(id);
      return toStored(row);
    },

    async list(
      actor: Actor,
      name: string,
      page: { readonly limit: number; readonly before?: number },
    ): Promise<{ reports: DriftReportListItem[]; next: string | null }> {
      const prompt = await requirePrompt(actor.projectId, name);
      const rows = await drift.listDriftReports(actor.projectId, prompt.name, { ...page, limit: page.limit + 1 });
      const more = rows.length > page.limit;
      const shown = rows.slice(0, page.limit);
      return { reports: shown.map(toListItem), next: more ? String(shown[shown.length - 1]!.id) : null };
    },
  };
};
