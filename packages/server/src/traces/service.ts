import {
  LATEST_LABEL,
  PromptopsError,
  diffPrompts,
  emptyLatencySketch,
  latencyPercentiles,
  mergeLatencySketches,
  shortSha,
  zodIssues,
  type FieldIssue,
  type MetricsResult,
  type MetricsSeries,
  type TraceDetail,
} from '@promptops/core';
import type { Actor, Clock } from '../context.js';
import { unknownPrompt } from '../prompts/errors.js';
import { rollbackPlan } from '../labels/rollback-targets.js';
import { toDeploymentRecord, toVersionRecord, toVersionSummary } from '../prompts/mappers.js';
import type { RegistryReads } from '../registry/store.js';
import type { ReviewReads } from '../reviews/store.js';
import type { TraceStoreHandle } from './store/index.js';
import type { VersionRow } from '../registry/store.js';
import type { MetricsGroupBy, TraceCursor, TraceFilter, TraceStatus } from './store.js';
import { otlpToEvents } from './otlp.js';
import { toScoreRecord, toTraceRecord, type ScoreRecord, type TraceRecord } from './records.js';
import type { EncodedIngestResult, IngestResult } from './ingest/body.js';
import { scoreSchema } from './schemas.js';
import { parseDuration, parseInstant } from './time.js';
import { assertOwnTenant, seesTenant } from '../request/tenant-scope.js';

export interface TraceQuery {
  readonly traceId?: string;
  readonly prompt?: string;
  readonly version?: number;
  readonly sha?: string;
  readonly label?: string;
  readonly tenant?: string;
  readonly rollout?: string;
  readonly arm?: string;
  readonly status?: TraceStatus;
  readonly since?: string;
  readonly until?: string;
  readonly limit: number;
  readonly cursor?: string;
}

const MAX_BUCKETS = 2000;
const MAX_LATENCY_SAMPLES = 100_000;

/** The tenant filter of a trace query: a tenant-scoped key's own tenant always, and no other. */
const tenantFilter = (actor: Actor, asked: string | undefined): { tenant?: string } => {
  if (asked !== undefined) assertOwnTenant(actor, asked);
  const tenant = actor.tenant ?? asked;
  return tenant === undefined ? {} : { tenant };
};

const traceNotFound = (id: string): PromptopsError =>
  new PromptopsError('not_found', 'trace_not_found', `no trace with id '${id}' in this project`, {
    fix: 'list traces with GET /api/v1/traces (or `promptops traces`); traces older than the retention period are deleted',
  });

const invalid = (message: string, issues: FieldIssue[], fix: string): PromptopsError =>
  new PromptopsError('invalid', 'invalid_request', message, { issues, fix });

const encodeCursor = (cursor: TraceCursor): string =>
  Buffer.from(`${cursor.startedAtMs}:${cursor.id}`).toString('base64url');

const decodeCursor = (text: string): TraceCursor => {
  const match = /^(\d{1,16}):(\d{1,16})$/.exec(Buffer.from(text, 'base64url').toString());
  if (match === null)
    throw invalid(
      `cursor "${text}" is not valid`,
      [{ path: 'cursor', message: 'is not a cursor this server issued' }],
      'pass nextCursor from the previous page unchanged',
    );
  return { startedAtMs: Number(match[1]), id: Number(match[2]) };
};

const round = (value: number, digits = 2): number => Math.round(value * 10 ** digits) / 10 ** digits;

export type TraceService = ReturnType<typeof createTraceService>;

/** The stores the trace service uses: its own, and the registry (and policies) a trace links to. */
export interface TraceStores {
  readonly traces: TraceStoreHandle;
  readonly registry: RegistryReads;
  readonly reviews: ReviewReads;
}

export const createTraceService = ({ traces, registry, reviews }: TraceStores, clock: Clock) => {
  /** Validated item by item, inserted in short transactions (ingest/batching.ts). */
  const ingestEvents = (actor: Actor, events: readonly unknown[], nowMs: number): Promise<IngestResult> =>
    traces.ingest.ingestEvents(actor.projectId, events, nowMs, () => clock.now().getTime());

  /**
   * A span that names a prompt version but not its sha (Langfuse's exporter sends name and version only)
   * gets the sha the registry holds for it, once per name@version per request; an unknown one keeps none.
   */
  const linkVersions = async (projectId: number, events: Record<string, unknown>[]): Promise<void> => {
    const shas = new Map<string, Promise<string | undefined>>();
    const shaOf = async (name: string, version: number): Promise<string | undefined> => {
      const prompt = await registry.getPrompt(projectId, name);
      return prompt === undefined ? undefined : (await registry.getVersionByNumber(prompt.id, version))?.sha;
    };
    for (const event of events) {
      const prompt = event['prompt'] as { name?: unknown; version?: unknown; sha?: unknown } | undefined;
      if (prompt?.sha !== undefined || typeof prompt?.name !== 'string' || typeof prompt.version !== 'number') continue;
      const key = `${prompt.name}@${prompt.version}`;
      if (!shas.has(key)) shas.set(key, shaOf(prompt.name, prompt.version));
      const sha = await shas.get(key);
      if (sha !== undefined) prompt.sha = sha;
    }
  };

  const versionBySha = async (promptId: number, sha: string, cache: Map<string, VersionRow | undefined>) => {
    if (!cache.has(sha)) cache.set(sha, await registry.getVersionBySha(promptId, sha));
    return cache.get(sha);
  };

  return {
    /**
     * `POST /api/v1/ingest`: the body's JSON bytes (`{ events: [...] }`, at most MAX_BATCH_EVENTS). Parsed,
     * validated and inserted by the trace ingest (ingest/ingest.ts). Answers the result's JSON (see
     * EncodedIngestResult).
     */
    async ingest(actor: Actor, body: Uint8Array): Promise<EncodedIngestResult> {
      const nowMs = clock.now().getTime();
      return traces.ingest.ingestBody(actor.projectId, body, nowMs, nowMs);
    },

    /** `POST /v1/traces`: an ExportTraceServiceRequest, already decoded. */
    async ingestOtlp(
      actor: Actor,
      request: unknown,
    ): Promise<{ rejectedSpans: number; errorMessage: string; accepted: number }> {
      const { events, malformed } = otlpToEvents(request);
      await linkVersions(actor.projectId, events);
      const result = await ingestEvents(actor, events, clock.now().getTime());
      const rejectedSpans = result.rejected.length + malformed;
      const first = result.rejected[0];
      const errorMessage =
        rejectedSpans === 0
          ? ''
          : first === undefined
            ? `${malformed} malformed span(s)`
            : `${rejectedSpans} span(s) rejected; first: span ${first.id ?? `#${first.index}`}: ${first.issues.map((i) => `${i.path}: ${i.message}`).join('; ')}`;
      return { rejectedSpans, errorMessage, accepted: result.accepted.length + result.duplicates.length };
    },

    async list(actor: Actor, query: TraceQuery): Promise<{ traces: TraceRecord[]; nextCursor: string | null }> {
      const nowMs = clock.now().getTime();
      const filter: TraceFilter = {
        ...(query.traceId === undefined ? {} : { traceId: query.traceId.toLowerCase() }),
        ...(query.prompt === undefined ? {} : { promptName: query.prompt }),
        ...(query.version === undefined ? {} : { promptVersion: query.version }),
        ...(query.sha === undefined ? {} : { shaPrefix: query.sha.toLowerCase() }),
        ...(query.label === undefined ? {} : { label: query.label }),
        ...tenantFilter(actor, query.tenant),
        ...(query.rollout === undefined ? {} : { rolloutId: query.rollout }),
        ...(query.arm === undefined ? {} : { rolloutArm: query.arm }),
        ...(query.status === undefined ? {} : { status: query.status }),
        ...(query.since === undefined ? {} : { sinceMs: parseInstant(query.since, 'since', nowMs) }),
        ...(query.until === undefined ? {} : { untilMs: parseInstant(query.until, 'until', nowMs) }),
      };
      const rows = await traces.queryTraces(actor.projectId, filter, {
        limit: query.limit,
        ...(query.cursor === undefined ? {} : { after: decodeCursor(query.cursor) }),
      });
      const last = rows.at(-1);
      return {
        traces: rows.map(toTraceRecord),
        nextCursor: rows.length === query.limit && last !== undefined ? encodeCursor(last) : null,
      };
    },

    async detail(actor: Actor, id: string): Promise<TraceDetail> {
      const row = await traces.getTrace(actor.projectId, id);
      // Another tenant's trace is to a tenant-scoped key what another project's is: not there.
      if (row === undefined || !seesTenant(actor, row.tenant)) throw traceNotFound(id);
      const scores = (await traces.listScores(actor.projectId, id)).map(toScoreRecord);
      const detail: { -readonly [K in keyof TraceDetail]: TraceDetail[K] } = {
        trace: { ...toTraceRecord(row), scores },
        version: null,
        parent: null,
        diffToParent: null,
        labelNow: null,
        rollback: null,
      };
      const prompt = row.promptName === null ? undefined : await registry.getPrompt(actor.projectId, row.promptName);
      if (prompt === undefined || row.promptName === null) return detail;
      const name = row.promptName;
      const versions = new Map<string, VersionRow | undefined>();
      const title = (v: VersionRow): string => `${name}@v${v.version} (${shortSha(v.sha)})`;
      const version = row.promptSha === null ? undefined : await versionBySha(prompt.id, row.promptSha, versions);
      if (version !== undefined) {
        const record = toVersionRecord(version);
        detail.version = record;
        const parent =
          version.parentSha === null ? undefined : await versionBySha(prompt.id, version.parentSha, versions);
        if (parent !== undefined) {
          detail.parent = toVersionSummary(parent);
          detail.diffToParent = diffPrompts(toVersionRecord(parent).content, record.content, {
            from: title(parent),
            to: title(version),
          });
        }
      }
      if (row.label !== null) {
        const label = await registry.getLabel(prompt.id, row.label);
        const now = label === undefined ? undefined : await versionBySha(prompt.id, label.sha, versions);
        if (label !== undefined && now !== undefined) {
          const servesTrace = label.sha === row.promptSha;
          detail.labelNow = {
            label: row.label,
            version: toVersionSummary(now),
            servesTrace,
            diff:
              version === undefined || servesTrace
                ? null
                : diffPrompts(toVersionRecord(version).content, toVersionRecord(now).content, {
                    from: title(version),
                    to: title(now),
                  }),
          };
          if (servesTrace) {
            // The rollback the label would take now: on a protected label, never to a break-glass version.
            const plan = await rollbackPlan({ registry, reviews }, actor.projectId, prompt, row.label, label.sha);
            const target = plan.choices.previous;
            const to = target === undefined ? undefined : await versionBySha(prompt.id, target, versions);
            if (to !== undefined) {
              detail.rollback = {
                name,
                label: row.label,
                from: { version: now.version, sha: now.sha },
                to: { version: to.version, sha: to.sha },
              };
            }
          }
        }
      }
      return detail;
    },

    async addScore(actor: Actor, id: string, body: unknown): Promise<ScoreRecord> {
      const parsed = scoreSchema.safeParse(body);
      if (!parsed.success) {
        const issues = zodIssues(parsed.error);
        throw invalid(
          `the score is invalid:\n${issues.map((i) => `  - ${i.path}: ${i.message}`).join('\n')}`,
          issues,
          'send { kind: "thumbs", value: "up" | "down" }, { kind: "numeric", value: 0.8 } or { kind: "label", value: "rude" }',
        );
      }
      const score = parsed.data;
      const value =
        score.kind === 'thumbs'
          ? score.value === 'up' || score.value === true
            ? 1
            : 0
          : score.kind === 'numeric'
            ? score.value
            : null;
      const row = await traces.insertScore(actor.projectId, {
        eventId: id,
        name: score.name ?? (score.kind === 'thumbs' ? 'feedback' : score.kind),
        kind: score.kind,
        value,
        stringValue: score.kind === 'label' ? score.value : null,
        comment: score.comment ?? null,
        actor: actor.name,
        createdAtMs: clock.now().getTime(),
      });
      if (row === undefined) throw traceNotFound(id);
      return toScoreRecord(row);
    },

    async metrics(
      actor: Actor,
      name: string,
      query: { by: MetricsGroupBy; since: string; until?: string; bucket: string; rollout?: string },
    ): Promise<MetricsResult> {
      const nowMs = clock.now().getTime();
      const sinceMs = parseInstant(query.since, 'since', nowMs);
      const untilMs = query.until === undefined ? nowMs : parseInstant(query.until, 'until', nowMs);
      const bucketMs = parseDuration(query.bucket, 'bucket');
      if (untilMs <= sinceMs)
        throw invalid(
          'since must be before until',
          [{ path: 'since', message: 'must be before until' }],
          'e.g. since=24h',
        );
      if ((untilMs - sinceMs) / bucketMs > MAX_BUCKETS) {
        throw invalid(
          `the window holds more than ${MAX_BUCKETS} buckets`,
          [{ path: 'bucket', message: `gives more than ${MAX_BUCKETS} buckets` }],
          'use a wider bucket or a shorter window',
        );
      }
      const prompt = await registry.getPrompt(actor.projectId, name);
      if (prompt === undefined || prompt.headSha === null) throw await unknownPrompt(registry, actor.projectId, name);

      const rows = await traces.traceMetrics(actor.projectId, {
        promptName: name,
        by: query.by,
        ...(query.rollout === undefined ? {} : { rolloutId: query.rollout }),
        sinceMs,
        untilMs,
        bucketMs,
        maxLatencySamples: MAX_LATENCY_SAMPLES,
      });
      const summarize = (parts: typeof rows) => {
        const count = parts.reduce((n, r) => n + r.count, 0);
        const errors = parts.reduce((n, r) => n + r.errors, 0);
        // Nearest rank over the merged sketches: exact while they hold their values, else within 1 %.
        const latency = emptyLatencySketch();
        for (const part of parts) mergeLatencySketches(latency, part.latency, Infinity);
        const [p50, p95, p99] = latencyPercentiles(latency, [50, 95, 99]).map((value) =>
          value === null || value === undefined ? null : round(value, 1),
        );
        const scoreCount = parts.reduce((n, r) => n + r.scoreCount, 0);
        const scoreSum = parts.reduce((n, r) => n + r.scoreSum, 0);
        return {
          count,
          errors,
          errorRate: count === 0 ? 0 : round(errors / count, 4),
          latencyMs: { p50: p50 ?? null, p95: p95 ?? null, p99: p99 ?? null },
          tokens: {
            input: parts.reduce((n, r) => n + r.inputTokens, 0),
            output: parts.reduce((n, r) => n + r.outputTokens, 0),
          },
          cost: round(
            parts.reduce((n, r) => n + r.cost, 0),
            6,
          ),
          score: { mean: scoreCount === 0 ? null : round(scoreSum / scoreCount, 4), count: scoreCount },
          thumbs: { up: parts.reduce((n, r) => n + r.thumbsUp, 0), down: parts.reduce((n, r) => n + r.thumbsDown, 0) },
        };
      };
      const byKey = new Map<string | null, typeof rows>();
      for (const row of rows) byKey.set(row.key, [...(byKey.get(row.key) ?? []), row]);
      const versions = new Map<string, VersionRow | undefined>();
      const series: MetricsSeries[] = [];
      for (const [key, parts] of byKey) {
        const version = query.by === 'sha' && key !== null ? await versionBySha(prompt.id, key, versions) : undefined;
        series.push({
          key,
          version: version?.version ?? null,
          totals: summarize(parts),
          points: parts.map((part) => ({ start: new Date(part.bucketStartMs).toISOString(), ...summarize([part]) })),
        });
      }
      // Oldest version (or first seen) first, so a chart reads left to right.
      series.sort(
        (a, b) =>
          (a.version ?? Infinity) - (b.version ?? Infinity) ||
          (a.points[0]?.start ?? '').localeCompare(b.points[0]?.start ?? ''),
      );
      const markers = (await registry.listDeployments(prompt.id, {}))
        .filter((d) => d.label !== LATEST_LABEL)
        .filter((d) => {
          const at = Date.parse(d.createdAt);
          return at >= sinceMs && at < untilMs;
        })
        .map(toDeploymentRecord);
      return {
        name,
        by: query.by,
        since: new Date(sinceMs).toISOString(),
        until: new Date(untilMs).toISOString(),
        bucketMs,
        series,
        markers,
      };
    },
  };
};
