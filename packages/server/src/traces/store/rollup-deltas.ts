import { INSERT_COLUMNS, type RowParams } from './row-params.js';

/**
 * What one batch adds to the rollups (migration 0007), per (key, grain, bucket): the pure half of
 * rollups.ts. Input: inserted rows' parameters, or rollup events (a stored trace that counts and/or
 * scores of a trace); output: one delta per rollup row, in key order.
 */

export const MINUTE_MS = 60_000;
export const HOUR_MS = 3_600_000;
/** The rollup grains, largest first. */
export const ROLLUP_GRAINS = [HOUR_MS, MINUTE_MS] as const;
const MINUTES_ONLY = [MINUTE_MS] as const;

/** An hour whose hour rows must be folded (again) from its minute rows. */
export interface DirtyHour {
  readonly projectId: number;
  readonly promptName: string;
  readonly hourMs: number;
}
/** The tenant of the rows of a prompt's tenants beyond its cap. */
export const OTHER_TENANT = 'other';

/** The key's text columns; '' stands for none (traces store NULL). */
export interface RollupKey {
  readonly projectId: number;
  readonly promptName: string;
  readonly promptSha: string;
  readonly effectiveSha: string;
  readonly label: string;
  readonly tenant: string;
  readonly rolloutId: string;
  readonly rolloutArm: string;
}

export interface RollupScore {
  readonly name: string;
  readonly kind: string;
  readonly value: number | null;
}

/** A trace as the rollups see it: `counted` when the trace itself is added, with any scores to add. */
export interface RollupEvent extends RollupKey {
  readonly startedAtMs: number;
  readonly counted: boolean;
  readonly error: boolean;
  readonly latencyMs: number | null;
  readonly inputTokens: number | null;
  readonly outputTokens: number | null;
  readonly cost: number | null;
  readonly scores: readonly RollupScore[];
}

export interface RollupDelta extends RollupKey {
  /** The key as one text (its series is looked up by it). */
  readonly keyText: string;
  readonly grainMs: number;
  readonly bucketMs: number;
  count: number;
  errors: number;
  inputTokens: number;
  outputTokens: number;
  cost: number;
  thumbsUp: number;
  thumbsDown: number;
  scoreSum: number;
  scoreCount: number;
  /** The latencies added (the sketch is made when the delta is written). */
  readonly latencies: number[];
  /** Per score name (numeric and thumbs scores); null when none. */
  scores: Map<string, { sum: number; count: number }> | null;
}

const column = (name: (typeof INSERT_COLUMNS)[number]): number => INSERT_COLUMNS.indexOf(name);
const C = {
  project: column('project_id'),
  prompt: column('prompt_name'),
  sha: column('prompt_sha'),
  effective: column('effective_sha'),
  label: column('label'),
  tenant: column('tenant'),
  rolloutId: column('rollout_id'),
  arm: column('rollout_arm'),
  latency: column('latency_ms'),
  input: column('input_tokens'),
  output: column('output_tokens'),
  cost: column('cost'),
  status: column('status'),
  started: column('started_at_ms'),
};

const text = (value: unknown): string => (typeof value === 'string' ? value : '');
const numberOr0 = (value: unknown): number => (value === null || value === undefined ? 0 : Number(value));

/** A row's tenant as the key has it ('' for none), before the cap maps it. */
export const rowTenant = (row: RowParams): string => text(row[C.tenant]);
/** A row's project and prompt; the prompt is undefined for a trace of no prompt (no metrics). */
export const rowProject = (row: RowParams): number => Number(row[C.project]);
export const rowPrompt = (row: RowParams): string | undefined => {
  const prompt = row[C.prompt];
  return typeof prompt === 'string' ? prompt : undefined;
};

/** Scores that count in the metrics: numeric and thumbs (up 1, down 0) with a value. */
export const countsAsScore = (score: RollupScore): score is RollupScore & { value: number } =>
  (score.kind === 'numeric' || score.kind === 'thumbs') && score.value !== null;

/**
 * Accumulates the deltas of a batch, per (key, grain, bucket). Built for the writer's hot path: inserted
 * rows are read from their parameter arrays (no object per trace), one key string per trace, a key's rows
 * found by a numeric bucket id.
 */
export class RollupDeltas {
  readonly #byKey = new Map<string, Map<number, RollupDelta>>();
  readonly #dirty = new Map<string, DirtyHour>();

  /**
   * `horizonMs`: a trace that started since adds to its minute row and marks its hour to be folded; an
   * older one adds to its hour row too, directly (its hour's minute rows may be gone before a fold).
   */
  constructor(private readonly horizonMs: number) {}

  #lastMarked: DirtyHour | undefined;

  /** The grains a trace adds to directly; marks its hour when the fold will make its hour rows. */
  #grains(projectId: number, promptName: string, startedAtMs: number): readonly number[] {
    if (startedAtMs < this.horizonMs) return ROLLUP_GRAINS;
    const hourMs = Math.floor(startedAtMs / HOUR_MS) * HOUR_MS;
    const last = this.#lastMarked;
    // Most traces of a batch fall in the hour the one before did.
    if (last?.hourMs === hourMs && last.projectId === projectId && last.promptName === promptName) return MINUTES_ONLY;
    const id = `${projectId}\u0000${promptName}\u0000${hourMs}`;
    let marked = this.#dirty.get(id);
    if (marked === undefined) {
      marked = { projectId, promptName, hourMs };
      this.#dirty.set(id, marked);
    }
    this.#lastMarked = marked;
    return MINUTES_ONLY;
  }

  /** The hours to fold, in one order for every transaction. */
  dirtyHours(): DirtyHour[] {
    return [...this.#dirty.keys()].sort().map((id) => this.#dirty.get(id)!);
  }

  /** An inserted trace, from its insert parameters; `tenant`: its rollup tenant. */
  addRow(row: RowParams, tenant: string): void {
    const promptName = row[C.prompt] as string;
    const keyText = `${row[C.project]}\u0000${promptName}\u0000${text(row[C.sha])}\u0000${text(row[C.effective])}\u0000${text(row[C.label])}\u0000${tenant}\u0000${text(row[C.rolloutId])}\u0000${text(row[C.arm])}`;
    const rows = this.#rows(keyText);
    const startedAtMs = Number(row[C.started]);
    const latency = row[C.latency];
    for (const grainMs of this.#grains(Number(row[C.project]), promptName, startedAtMs)) {
      const delta =
        this.#existing(rows, grainMs, startedAtMs) ??
        this.#create(rows, keyText, grainMs, startedAtMs, {
          projectId: Number(row[C.project]),
          promptName,
          promptSha: text(row[C.sha]),
          effectiveSha: text(row[C.effective]),
          label: text(row[C.label]),
          tenant,
          rolloutId: text(row[C.rolloutId]),
          rolloutArm: text(row[C.arm]),
        });
      delta.count += 1;
      if (row[C.status] === 'error') delta.errors += 1;
      delta.inputTokens += numberOr0(row[C.input]);
      delta.outputTokens += numberOr0(row[C.output]);
      delta.cost += numberOr0(row[C.cost]);
      if (latency !== null && latency !== undefined) delta.latencies.push(Number(latency));
    }
  }

  /** A stored trace (backfill) or a trace's scores (`counted` false); `tenant`: its rollup tenant. */
  addEvent(event: RollupEvent, tenant: string): void {
    const key = { ...event, tenant };
    const keyText = `${event.projectId}\u0000${event.promptName}\u0000${event.promptSha}\u0000${event.effectiveSha}\u0000${event.label}\u0000${tenant}\u0000${event.rolloutId}\u0000${event.rolloutArm}`;
    const rows = this.#rows(keyText);
    for (const grainMs of this.#grains(event.projectId, event.promptName, event.startedAtMs)) {
      const delta =
        this.#existing(rows, grainMs, event.startedAtMs) ??
        this.#create(rows, keyText, grainMs, event.startedAtMs, key);
      if (event.counted) {
        delta.count += 1;
        if (event.error) delta.errors += 1;
        delta.inputTokens += event.inputTokens ?? 0;
        delta.outputTokens += event.outputTokens ?? 0;
        delta.cost += event.cost ?? 0;
        if (event.latencyMs !== null) delta.latencies.push(event.latencyMs);
      }
      for (const score of event.scores) {
        if (!countsAsScore(score)) continue;
        delta.scoreSum += score.value;
        delta.scoreCount += 1;
        if (score.kind === 'thumbs') {
          if (score.value >= 1) delta.thumbsUp += 1;
          else delta.thumbsDown += 1;
        }
        delta.scores ??= new Map();
        const named = delta.scores.get(score.name);
        if (named === undefined) delta.scores.set(score.name, { sum: score.value, count: 1 });
        else {
          named.sum += score.value;
          named.count += 1;
        }
      }
    }
  }

  /** The deltas in one order for every transaction, so concurrent PostgreSQL writers lock shared rows alike. */
  sorted(): RollupDelta[] {
    const deltas: RollupDelta[] = [];
    for (const keyText of [...this.#byKey.keys()].sort()) {
      const rows = this.#byKey.get(keyText)!;
      for (const id of [...rows.keys()].sort((a, b) => a - b)) deltas.push(rows.get(id)!);
    }
    return deltas;
  }

  #rows(keyText: string): Map<number, RollupDelta> {
    let rows = this.#byKey.get(keyText);
    if (rows === undefined) {
      rows = new Map();
      this.#byKey.set(keyText, rows);
    }
    return rows;
  }

  /** Bucket starts are whole minutes, so +1 tells an hour's row from the minute starting with it. */
  static #id(grainMs: number, bucketMs: number): number {
    return grainMs === MINUTE_MS ? bucketMs : bucketMs + 1;
  }

  #existing(rows: Map<number, RollupDelta>, grainMs: number, startedAtMs: number): RollupDelta | undefined {
    return rows.get(RollupDeltas.#id(grainMs, Math.floor(startedAtMs / grainMs) * grainMs));
  }

  #create(
    rows: Map<number, RollupDelta>,
    keyText: string,
    grainMs: number,
    startedAtMs: number,
    key: RollupKey,
  ): RollupDelta {
    const bucketMs = Math.floor(startedAtMs / grainMs) * grainMs;
    const delta: RollupDelta = {
      keyText,
      projectId: key.projectId,
      promptName: key.promptName,
      promptSha: key.promptSha,
      effectiveSha: key.effectiveSha,
      label: key.label,
      tenant: key.tenant,
      rolloutId: key.rolloutId,
      rolloutArm: key.rolloutArm,
      grainMs,
      bucketMs,
      count: 0,
      errors: 0,
      inputTokens: 0,
      outputTokens: 0,
      cost: 0,
      thumbsUp: 0,
      thumbsDown: 0,
      scoreSum: 0,
      scoreCount: 0,
      latencies: [],
      scores: null,
    };
    rows.set(RollupDeltas.#id(grainMs, bucketMs), delta);
    return delta;
  }
}
