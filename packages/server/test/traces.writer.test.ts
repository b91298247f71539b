import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createStorage, type RawSqlAccess, type Stores } from '../src/app/stores.js';
import type { NewTrace } from '../src/traces/store.js';
import { SMALL_BODY_BYTES } from '../src/traces/ingest/ingest.js';
import { TraceWriter, TraceWriterUnavailableError } from '../src/traces/ingest/writer.js';
import { sqliteDialect } from '../src/storage/dialect.js';
import { DIALECTS, freshDbUrl, openTestRegistry } from './support/registry.js';
import { ingest, traceEvent } from './support/traces.js';

/** The hot insert: chunked statements (and SQLite's worker thread), duplicates, lifecycle, failures. */

const T0 = Date.UTC(2025, 0, 1);
const row = (eventId: string, i = 0): NewTrace => ({
  eventId,
  traceId: null,
  spanId: null,
  parentSpanId: null,
  promptName: 'greeter',
  promptVersion: 1,
  promptSha: 'c'.repeat(64),
  effectiveSha: null,
  label: 'production',
  tenant: `t${i % 3}`,
  rolloutId: null,
  rolloutArm: null,
  releaseSha: null,
  variables: '{"name":"Ada"}',
  output: 'hi',
  model: null,
  provider: null,
  latencyMs: i,
  inputTokens: 1,
  outputTokens: 2,
  cost: 0.5,
  status: 'ok',
  error: null,
  attributes: null,
  startedAtMs: T0 + i,
});

// `sqlite-memory` runs the in-process multi-row path (a memory database has no second connection).
describe.each([...DIALECTS, 'sqlite-memory'] as const)('trace inserts (%s)', (dialect) => {
  let storage: Stores & RawSqlAccess;
  let url: string;
  let cleanup: () => void;
  let projectId: number;

  beforeAll(async () => {
    ({ url, cleanup } = await freshDbUrl(dialect));
    storage = await createStorage(url);
    projectId = (await storage.transaction((tx) => tx.registry.createProject('acme', new Date(T0).toISOString()))).id;
  });
  afterAll(async () => {
    await storage.close();
    cleanup();
  });

  it('stores a batch spanning several statements once, with duplicates inside it and across batches', async () => {
    // 2,600 rows: more than one 1,000-row statement, with repeats far apart (different statements).
    const ids = Array.from({ length: 2600 }, (_, i) => `m-${i}`);
    const batch = [...ids, 'm-0', 'm-1999', 'm-2599'].map((id, i) => row(id, i));
    const first = await storage.traces.insertTraces(projectId, batch, T0);
    expect(first.accepted).toEqual(ids);
    expect(first.duplicates).toEqual(['m-0', 'm-1999', 'm-2599']);

    // Across batches: old ids are duplicates, new ones accepted, in request order.
    const second = await storage.traces.insertTraces(
      projectId,
      [row('m-5'), row('n-1'), row('m-2000'), row('n-1')],
      T0,
    );
    expect(second).toEqual({ accepted: ['n-1'], duplicates: ['m-5', 'm-2000', 'n-1'] });

    const [count] = await storage.rawSql(
      "SELECT COUNT(*) AS n FROM traces WHERE event_id LIKE 'm-%' OR event_id = 'n-1'",
    );
    expect(Number(count?.['n'])).toBe(2601);
    // The first occurrence is what was stored.
    expect(await storage.traces.getTrace(projectId, 'm-1999')).toMatchObject({ latencyMs: 1999, tenant: 't1' });
  });

  // PostgreSQL's race is in stores/traces.contract.test.ts; SQLite's writers are worker threads, so they can race here.
  if (dialect === 'sqlite')
    it('two storages racing on the same event ids store each once', async () => {
      const other = await createStorage(url);
      try {
        const batch = Array.from({ length: 600 }, (_, i) => row(`race-${i}`, i));
        const [a, b] = await Promise.all([
          storage.traces.insertTraces(projectId, batch, T0),
          other.traces.insertTraces(projectId, batch, T0),
        ]);
        expect(a.accepted.length + b.accepted.length).toBe(600);
        expect(a.duplicates.length + b.duplicates.length).toBe(600);
      } finally {
        await other.close();
      }
    });
});

describe('SQLite trace writer (worker thread)', () => {
  it('finishes pending inserts on close, then refuses new ones', async () => {
    const { url, cleanup } = await freshDbUrl('sqlite');
    const storage = await createStorage(url);
    try {
      const projectId = (
        await storage.transaction((tx) => tx.registry.createProject('acme', new Date(T0).toISOString()))
      ).id;
      const pending = storage.traces.insertTraces(
        projectId,
        Array.from({ length: 500 }, (_, i) => row(`c-${i}`, i)),
        T0,
      );
      const closing = storage.close();
      expect((await pending).accepted).toHaveLength(500);
      await closing;
      await expect(storage.traces.insertTraces(projectId, [row('late')], T0)).rejects.toBeInstanceOf(
        TraceWriterUnavailableError,
      );
      const reopened = await createStorage(url);
      const [count] = await reopened.rawSql("SELECT COUNT(*) AS n FROM traces WHERE event_id LIKE 'c-%'");
      expect(Number(count?.['n'])).toBe(500);
      await reopened.close();
    } finally {
      cleanup();
    }
  });

  it('rejects with TraceWriterUnavailableError when the worker cannot start, and a later call starts anew', async () => {
    const writer = new TraceWriter({ dialect: sqliteDialect, target: '/nonexistent-dir/promptops.db' });
    await expect(writer.insert(1, [row('x')], T0)).rejects.toBeInstanceOf(TraceWriterUnavailableError);
    await expect(writer.insert(1, [row('y')], T0)).rejects.toBeInstanceOf(TraceWriterUnavailableError);
    // Its kind is the one the routes answer it with (503), so any other path answers the same.
    await expect(writer.insert(1, [row('z')], T0)).rejects.toMatchObject({
      kind: 'unavailable',
      code: 'trace_writer_unavailable',
    });
    await writer.close();
  });

  it('a failing insert is a clean 503 with Retry-After, never a 500; ingestion recovers', async () => {
    const registry = await openTestRegistry('sqlite');
    try {
      // Without its table the worker's statement cannot be prepared: the worker fails to start.
      await registry.storage.rawSql('ALTER TABLE traces RENAME TO traces_away');
      const failed = await ingest(registry.app, registry.keys.editor, { events: [traceEvent('w-1')] });
      expect(failed.statusCode).toBe(503);
      expect(failed.headers['retry-after']).toBe('1');
      expect(failed.json()).toMatchObject({ error: { code: 'unavailable' } });

      await registry.storage.rawSql('ALTER TABLE traces_away RENAME TO traces');
      const retried = await ingest(registry.app, registry.keys.editor, { events: [traceEvent('w-1')] });
      expect(retried.statusCode).toBe(200);
      expect(retried.json()).toMatchObject({ accepted: ['w-1'] });
    } finally {
      await registry.close();
    }
  });
});

describe("PostgreSQL ingest bodies (a few events on the main thread's pool, the rest on the writer thread)", () => {
  /** The same JSON, padded with whitespace past the small-body size: it goes to the writer thread. */
  const large = (body: unknown): string => JSON.stringify(body) + ' '.repeat(SMALL_BODY_BYTES);

  it('a lost connection is a 503 with Retry-After at worst, never a 500, on either path, and the next call reconnects', async () => {
    const registry = await openTestRegistry('postgres');
    try {
      const first = await ingest(registry.app, registry.keys.editor, { events: [traceEvent('pg-1')] });
      expect(first.statusCode).toBe(200);
      for (const [id, shape] of [
        ['pg-small', (body: unknown) => body],
        ['pg-large', large],
      ] as const) {
        // Every other connection to this database ends: the writer thread's, and the pool's idle ones.
        await registry.storage.rawSql(
          'SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = current_database() AND pid <> pg_backend_pid()',
        );
        const statuses: number[] = [];
        for (let attempt = 0; attempt < 20 && statuses.at(-1) !== 200; attempt += 1) {
          const response = await ingest(registry.app, registry.keys.editor, shape({ events: [traceEvent(id)] }));
          statuses.push(response.statusCode);
          if (response.statusCode === 503) expect(response.headers['retry-after']).toBe('1');
          else if (response.statusCode !== 200) throw new Error(`unexpected ${response.statusCode}: ${response.body}`);
          else expect(response.json()).toMatchObject({ accepted: [id] });
          await new Promise((resolve) => setTimeout(resolve, 50));
        }
        expect(statuses.at(-1), id).toBe(200);
      }
      expect(await registry.storage.traces.getTrace(registry.projectId, 'pg-1')).toBeDefined();
    } finally {
      await registry.close();
    }
  });

  it('a small body and the same body padded past the small-body size get the same answer', async () => {
    const registry = await openTestRegistry('postgres');
    try {
      const batch = (prefix: string) => ({
        events: [
          traceEvent(`${prefix}-a`),
          traceEvent(`${prefix}-b`, { prompt: { name: 'greeter', sha: 'xyz' } }),
          traceEvent(`${prefix}-a`, { output: 'again' }),
          traceEvent('stored-before'),
          traceEvent(`${prefix}-c`, { attributes: JSON.parse('{"__proto__": "x", "ok": 1}') as unknown }),
        ],
      });
      expect(
        (await ingest(registry.app, registry.keys.editor, { events: [traceEvent('stored-before')] })).statusCode,
      ).toBe(200);
      const small = await ingest(registry.app, registry.keys.editor, batch('s'));
      const padded = await ingest(registry.app, registry.keys.editor, large(batch('l')));
      expect(small.statusCode).toBe(200);
      expect(padded.statusCode).toBe(200);
      expect(padded.headers['content-type']).toBe(small.headers['content-type']);
      expect(small.json()).toMatchObject({
        accepted: ['s-a', 's-c'],
        duplicates: ['s-a', 'stored-before'],
        rejected: [{ index: 1, id: 's-b' }],
        droppedAttributes: 1,
      });
      expect(padded.body.replaceAll('l-', 's-')).toBe(small.body);
    } finally {
      await registry.close();
    }
  });

  it('concurrent small bodies with overlapping ids store each id once (some overflow to the writer thread)', async () => {
    const registry = await openTestRegistry('postgres');
    try {
      const ids = Array.from({ length: 10 }, (_, i) => `race-${i}`);
      const bodies = Array.from({ length: 12 }, (_, n) => ({
        events: [0, 3, 7].map((step) => traceEvent(ids[(n + step) % ids.length]!)),
      }));
      const answers = await Promise.all(bodies.map((body) => ingest(registry.app, registry.keys.editor, body)));
      const accepted = answers.flatMap((answer) => {
        expect(answer.statusCode).toBe(200);
        return answer.json<{ accepted: string[] }>().accepted;
      });
      expect(accepted.sort()).toEqual([...ids].sort());
      const rows = await registry.storage.rawSql("SELECT count(*) AS n FROM traces WHERE event_id LIKE 'race-%'");
      expect(Number(rows[0]?.n)).toBe(ids.length);
    } finally {
      await registry.close();
    }
  });

  it('reports a malformed batch exactly as the main thread would (the error crosses the thread)', async () => {
    const registry = await openTestRegistry('postgres');
    try {
      for (const body of ['{"events": [', `{"events": [${' '.repeat(SMALL_BODY_BYTES)}`]) {
        const notJson = await ingest(registry.app, registry.keys.editor, body);
        expect(notJson.statusCode).toBe(400);
        expect(notJson.json()).toMatchObject({ error: { code: 'invalid_json', fix: 'send a well-formed JSON body' } });
      }
      const tooMany = await ingest(registry.app, registry.keys.editor, {
        events: Array.from({ length: 1001 }, (_, i) => traceEvent(`m-${i}`)),
      });
      expect(tooMany.statusCode).toBe(413);
      expect(tooMany.json()).toMatchObject({ error: { code: 'batch_too_large', details: { limit: 1000 } } });
      const empty = await ingest(registry.app, registry.keys.editor, { events: [] });
      expect(empty.statusCode).toBe(400);
      expect(empty.json()).toMatchObject({ error: { code: 'invalid_request', issues: [{ path: 'events' }] } });
    } finally {
      await registry.close();
    }
  });
});
