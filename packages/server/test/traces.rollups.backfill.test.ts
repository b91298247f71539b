import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { sql, type Kysely } from 'kysely';
import { parseDbUrl } from '../src/storage/index.js';
import { createStorage, type RawSqlAccess } from '../src/app/stores.js';
import { rollupsMigration } from '../src/storage/migrations/0007-rollups.js';
import { dialectNamed } from '../src/storage/dialect.js';
import { openPostgres } from '../src/storage/postgres.js';
import { openSqlite } from '../src/storage/sqlite.js';
import type { Stores } from '../src/app/stores.js';
import type { NewTrace } from '../src/traces/store.js';
import { verifyMetrics } from '../src/traces/metrics-verify.js';
import { startRetention } from '../src/traces/retention.js';
import { DIALECTS, freshDbUrl } from './support/registry.js';

/**
 * A database that held traces before migration 0007: upgraded, its rollups are built from the raw rows by
 * the backfill, in steps that each commit with their watermark. A step that fails (here: at its very end,
 * by a trigger) leaves nothing behind, and the next one redoes it; scores posted after the upgrade on
 * traces not yet backfilled count once; two storages backfilling at once (PostgreSQL) take turns.
 */

// Recent: the backfill writes minute rows and marks the hours for the fold.
const T0 = Math.floor((Date.now() - 2 * 86_400_000) / 3_600_000) * 3_600_000;
const HOUR = 3_600_000;
const TRACES = 3000;

const trace = (i: number): NewTrace => ({
  eventId: `old-${i}`,
  traceId: null,
  spanId: null,
  parentSpanId: null,
  promptName: 'greeter',
  promptVersion: 1,
  promptSha: (i % 3 === 0 ? 'a' : 'b').repeat(64),
  effectiveSha: null,
  label: i % 2 === 0 ? 'production' : 'staging',
  tenant: `tenant-${i % 5}`,
  rolloutId: 'r1',
  rolloutArm: i % 4 === 0 ? 'candidate' : 'control',
  releaseSha: null,
  variables: null,
  output: null,
  model: null,
  provider: null,
  latencyMs: 200 + ((i * 37) % 900),
  inputTokens: 10 + (i % 7),
  outputTokens: 3,
  cost: (i % 8) / 1024,
  status: i % 9 === 0 ? 'error' : 'ok',
  error: null,
  attributes: null,
  startedAtMs: T0 + ((i * 7919) % (6 * HOUR)),
});

const failBackfillSql = (dialect: string): string[] =>
  dialect === 'postgres'
    ? [
        `CREATE FUNCTION fail_backfill() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'crash'; END $$`,
        'CREATE TRIGGER fail_backfill BEFORE UPDATE ON trace_rollup_backfill FOR EACH ROW EXECUTE FUNCTION fail_backfill()',
      ]
    : [`CREATE TRIGGER fail_backfill BEFORE UPDATE ON trace_rollup_backfill BEGIN SELECT RAISE(ABORT, 'crash'); END`];

const totals = async (storage: RawSqlAccess, projectId: number) => {
  const [row] = await storage.rawSql(
    `SELECT coalesce(sum(count), 0) AS n, coalesce(sum(score_count), 0) AS scores FROM trace_rollups WHERE project_id = ${projectId} AND grain_ms = 60000`,
  );
  return { count: Number(row!['n']), scores: Number(row!['scores']) };
};

describe.each(DIALECTS)('rollup backfill of an upgraded database (%s)', (dialect) => {
  let url: string;
  let cleanup: () => void;
  let storage: Stores & RawSqlAccess;
  let projectId: number;

  beforeAll(async () => {
    ({ url, cleanup } = await freshDbUrl(dialect));
    const fresh = await createStorage(url);
    projectId = (await fresh.transaction((tx) => tx.registry.createProject('acme', new Date(T0).toISOString()))).id;
    await fresh.close();
    // Back to before migration 0007, the traces and scores of the old version, then 0007 on them.
    const target = parseDbUrl(url);
    const db: Kysely<unknown> = target.dialect === 'sqlite' ? openSqlite(target.path) : openPostgres(target.url);
    const migration = rollupsMigration(dialectNamed(dialect));
    await migration.down!(db);
    const run = (text: string) => sql.raw(text).execute(db);
    await run(
      `INSERT INTO traces (project_id, event_id, prompt_name, prompt_sha, label, tenant, rollout_id, rollout_arm, latency_ms, input_tokens, output_tokens, cost, status, started_at_ms, created_at_ms) VALUES ${Array.from(
        { length: TRACES },
        (_, i) => {
          const t = trace(i);
          return `(${projectId}, '${t.eventId}', '${t.promptName}', '${t.promptSha}', '${t.label}', '${t.tenant}', '${t.rolloutId}', '${t.rolloutArm}', ${t.latencyMs}, ${t.inputTokens}, ${t.outputTokens}, ${t.cost}, '${t.status}', ${t.startedAtMs}, ${T0})`;
        },
      ).join(',')}`,
    );
    await run(
      `INSERT INTO trace_scores (project_id, trace_row_id, event_id, name, kind, value, actor, created_at_ms)
       SELECT project_id, id, event_id, 'feedback', 'thumbs', 1, 'test', ${T0} FROM traces WHERE event_id LIKE 'old-1%'`,
    );
    await migration.up(db);
    await db.destroy();
    storage = await createStorage(url);
  });
  afterAll(async () => {
    await storage.close();
    cleanup();
  });

  const query = {
    promptName: 'greeter',
    by: 'sha' as const,
    sinceMs: T0 - HOUR,
    untilMs: T0 + 7 * HOUR,
    bucketMs: HOUR,
  };

  it('reads raw rows until the backfill is done; steps that fail leave nothing; the end matches the raw rows', async () => {
    const status = await storage.traces.traceRollupStatus();
    expect(status).toMatchObject({ enabled: true, backfilled: false, backfillDone: 0 });
    expect(status.backfillUntil).toBeGreaterThanOrEqual(TRACES);
    // Until then, `auto` reads the raw rows: every trace is there.
    const auto = await storage.traces.traceMetrics(projectId, { ...query, maxLatencySamples: 1e6 });
    expect(auto.reduce((n, r) => n + r.count, 0)).toBe(TRACES);

    // After the upgrade: new traces count at once, and a score on an old trace counts at once too.
    await storage.traces.insertTraces(
      projectId,
      [
        { ...trace(0), eventId: 'new-0' },
        { ...trace(1), eventId: 'new-1' },
      ],
      T0,
    );
    expect(
      await storage.traces.insertScore(projectId, {
        eventId: 'old-2999',
        name: 'helpful',
        kind: 'numeric',
        value: 0.5,
        stringValue: null,
        comment: null,
        actor: 'test',
        createdAtMs: T0,
      }),
    ).toBeDefined();
    expect(await totals(storage, projectId)).toEqual({ count: 2, scores: 1 });

    expect(await storage.traces.backfillTraceRollups(1000)).toEqual({ done: false, traces: 1000 });
    const afterOne = await totals(storage, projectId);
    expect(afterOne.count).toBe(1002);

    // A step that fails at its end (the watermark's update) leaves neither rollups nor watermark behind.
    for (const statement of failBackfillSql(dialect)) await storage.rawSql(statement);
    await expect(storage.traces.backfillTraceRollups(1000)).rejects.toThrow(/crash/);
    expect(await totals(storage, projectId)).toEqual(afterOne);
    expect((await storage.traces.traceRollupStatus()).backfillDone).toBe(status.backfillUntil - TRACES + 1000);
    await storage.rawSql('DROP TRIGGER fail_backfill' + (dialect === 'postgres' ? ' ON trace_rollup_backfill' : ''));

    // The rest by the retention job's backfill loop, as a restarted server runs it.
    const job = startRetention(storage.traces, {
      firstRunMs: 3_600_000,
      backfillFirstRunMs: 0,
      backfillBatchSize: 700,
      pauseMs: 1,
    });
    const marked = async () => Number((await storage.rawSql('SELECT count(*) AS n FROM trace_rollup_dirty'))[0]!['n']);
    for (let i = 0; i < 400 && (!(await storage.traces.traceRollupStatus()).backfilled || (await marked()) > 0); i += 1)
      await new Promise((resolve) => setTimeout(resolve, 25));
    await job.stop();
    expect(await storage.traces.traceRollupStatus()).toMatchObject({ backfilled: true });
    expect(await storage.traces.backfillTraceRollups(1000)).toEqual({ done: true, traces: 0 });

    const old = TRACES;
    const oldScores = Number(
      (await storage.rawSql("SELECT count(*) AS n FROM trace_scores WHERE event_id LIKE 'old-1%'"))[0]!['n'],
    );
    expect(await totals(storage, projectId)).toEqual({ count: old + 2, scores: oldScores + 1 });
    for (const by of ['sha', 'label', 'arm'] as const) {
      const verdict = await verifyMetrics(storage.traces, projectId, { ...query, by });
      expect(verdict.mismatches).toEqual([]);
    }
    // The job folded the backfilled hours too: none is left marked, and the answers hold.
    expect(await marked()).toBe(0);
    expect(await storage.traces.foldTraceRollups(Date.now(), 1000)).toBe(0);
    // Tenants were admitted by the backfill too: five, within the default cap.
    expect(
      await storage.rawSql(`SELECT count(*) AS n FROM trace_rollup_tenants WHERE project_id = ${projectId}`),
    ).toEqual([{ n: 5 }]);
  });

  if (dialect === 'postgres')
    it('two storages backfilling at once take turns and count each trace once', async () => {
      const other = await createStorage(url);
      try {
        await storage.rawSql(`DELETE FROM trace_rollups WHERE project_id = ${projectId}`);
        await storage.rawSql(`DELETE FROM trace_rollup_scores WHERE project_id = ${projectId}`);
        // Everything stored is the backfill's again.
        await storage.rawSql(
          'UPDATE trace_rollup_backfill SET trace_done = 0, trace_until = (SELECT max(id) FROM traces), score_until = (SELECT max(id) FROM trace_scores)',
        );
        const run = async (s: Stores) => {
          while (!(await s.traces.backfillTraceRollups(250)).done);
        };
        await Promise.all([run(storage), run(other)]);
        const scores = Number((await storage.rawSql('SELECT count(*) AS n FROM trace_scores'))[0]!['n']);
        expect(await totals(storage, projectId)).toEqual({ count: TRACES + 2, scores });
        expect((await verifyMetrics(storage.traces, projectId, query)).mismatches).toEqual([]);
      } finally {
        await other.close();
      }
    });
});
