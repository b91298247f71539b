import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { isPromptopsError } from '@promptops/core';
import { describe, expect, it } from 'vitest';
import { parseDbUrl, StorageConflictError } from '../../src/storage/index.js';
import { createStorage } from '../../src/app/stores.js';
import { sqliteDialect } from '../../src/storage/dialect.js';
import { migrationsFor } from '../../src/storage/migrations/index.js';
import type { Stores } from '../../src/app/stores.js';
import { describeEachDatabase } from '../support/databases.js';
import { AT, pushNext, rejection, shaOf, storesFixture } from './support.js';

/**
 * The database under every store (storage/): migrations, the write transaction across stores, and
 * reading a database URL, on both databases. Every test gets a fresh, empty database.
 */

const REPO_ROOT = fileURLToPath(new URL('../../../../', import.meta.url));
const STORAGE_INDEX = new URL('../../src/app/stores.ts', import.meta.url).href;
const MIGRATIONS = Object.keys(migrationsFor(sqliteDialect));

describeEachDatabase('database contract: %s', (dialect) => {
  const { backend, open, seed } = storesFixture(dialect);

  describe('migrations', () => {
    it('are idempotent', async () => {
      const storage = await open();
      expect(storage.dialect).toBe(backend.dialect);
      await storage.migrate();
      await Promise.all([storage.migrate(), storage.migrate()]);
      const applied = await storage.rawSql('SELECT name FROM kysely_migration');
      // Every migration the code ships, once each, in order; the shipped ones never renamed or reordered.
      expect(applied.map((row) => row['name'])).toEqual(MIGRATIONS);
      expect(applied.map((row) => row['name']).slice(0, 10)).toEqual([
        '0001-initial',
        '0002-traces',
        '0003-access',
        '0004-reviews',
        '0005-evals',
        '0006-review-events-append-only',
        '0007-rollups',
        '0008-audit-mac',
        '0009-trace-id-index',
        '0010-unique-suite-names-per-prompt',
      ]);
      expect(await storage.registry.countProjects()).toBe(0);
    });

    if (backend.dialect === 'postgres')
      it('run concurrently from two storages on one empty database', async () => {
        const url = await backend.freshUrl();
        const [first, second] = await Promise.all([open(url), open(url)]);
        await Promise.all([first.migrate(), second.migrate()]);
        expect(await first.rawSql('SELECT name FROM kysely_migration')).toHaveLength(MIGRATIONS.length);
        expect(await second.registry.countProjects()).toBe(0);
      });
  });

  describe('transactions', () => {
    it('roll back everything when the callback throws, and rethrow its error', async () => {
      const storage = await open();
      const boom = new Error('boom');
      const error = await rejection(
        storage.transaction(async (tx) => {
          const project = await tx.registry.createProject('acme', AT);
          await pushNext(tx, project.id, 'greeter', 'ada');
          await tx.registry.appendAudit({
            projectId: project.id,
            at: AT,
            actor: 'ada',
            action: 'a',
            target: 't',
            data: {},
          });
          throw boom;
        }),
      );
      expect(error).toBe(boom);
      expect(await storage.registry.countProjects()).toBe(0);
      expect(await storage.rawSql('SELECT * FROM prompts')).toEqual([]);
      expect(await storage.rawSql('SELECT * FROM versions')).toEqual([]);
      expect(await storage.rawSql('SELECT * FROM audit_log')).toEqual([]);
    });

    it('roll back earlier writes when a later write conflicts', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage, 1);
      const error = await rejection(
        storage.transaction(async (tx) => {
          await tx.registry.createProject('second', AT);
          await tx.registry.insertVersion({
            projectId: project.id,
            promptId: prompt.id,
            version: 1,
            sha: shaOf('another'),
            content: '{}',
            parentSha: null,
            author: 'ada',
            message: 'racing',
            createdAt: AT,
          });
        }),
      );
      expect(error).toBeInstanceOf(StorageConflictError);
      expect(await storage.registry.countProjects()).toBe(1);
    });

    it('serialize 50 concurrent pushes to one prompt into versions 1..50', async () => {
      const storage = await open();
      const { project, prompt } = await seed(storage);
      const versions = await Promise.all(
        Array.from({ length: 50 }, () => storage.transaction((tx) => pushNext(tx, project.id, 'greeter', 'ada'))),
      );
      const expected = Array.from({ length: 50 }, (_, i) => i + 1);
      expect([...versions].sort((a, b) => a - b)).toEqual(expected);
      const stored = await storage.registry.listVersions(prompt.id, { limit: 100 });
      expect(stored.map((row) => row.version).reverse()).toEqual(expected);
      expect(await storage.registry.getPrompt(project.id, 'greeter')).toMatchObject({ headVersion: 50 });
    });

    if (backend.dialect === 'postgres')
      it('serialize pushes from two storages (two pools) too', async () => {
        const url = await backend.freshUrl();
        const [first, second] = await Promise.all([open(url), open(url)]);
        const { project, prompt } = await seed(first);
        const push = (storage: Stores) => storage.transaction((tx) => pushNext(tx, project.id, 'greeter', 'ada'));
        const versions = await Promise.all(Array.from({ length: 50 }, (_, i) => push(i % 2 === 0 ? first : second)));
        const expected = Array.from({ length: 50 }, (_, i) => i + 1);
        expect([...versions].sort((a, b) => a - b)).toEqual(expected);
        const stored = await second.registry.listVersions(prompt.id, { limit: 100 });
        expect(stored.map((row) => row.version).reverse()).toEqual(expected);
      });

    // better-sqlite3 is synchronous: two connections in one process would block each other's event loop,
    // so several SQLite writers are tested as what they are in production, separate processes.
    if (backend.dialect === 'sqlite')
      it('migrate and serialize pushes from two processes on one file', async () => {
        const url = await backend.freshUrl();
        const results = await runChildren(url, 100);
        const versions = results.flat().sort((a, b) => a - b);
        expect(versions).toEqual(Array.from({ length: 200 }, (_, i) => i + 1));
        const storage = await open(url);
        const project = await storage.registry.getProjectByName('acme');
        const prompt = await storage.registry.getPrompt(project!.id, 'greeter');
        expect(prompt?.headVersion).toBe(200);
      }, 60_000);
  });
});

interface Child {
  /** Resolves once the child has opened (and migrated) the database. */
  readonly ready: Promise<void>;
  /** Lets it push; resolves with the version numbers it wrote. */
  go(): Promise<number[]>;
}

/**
 * Starts a separate Node process (sources loaded through tsx, `@promptops/core` mapped to its sources as in
 * vitest) that opens `url`, then on `go()` makes `count` pushes to `acme/greeter`.
 */
const startChild = (url: string, count: number, tsconfig: string): Child => {
  const script = `
    const { createStorage } = await import(${JSON.stringify(STORAGE_INDEX)});
    const storage = await createStorage(${JSON.stringify(url)});
    const at = ${JSON.stringify(AT)};
    const project = await storage.transaction(async (tx) =>
      (await tx.registry.getProjectByName('acme')) ?? tx.registry.createProject('acme', at));
    // Both children are ready (migrated) before either pushes, so their pushes really interleave.
    process.stdout.write('ready\\n');
    await new Promise((resolve) => process.stdin.once('data', resolve));
    const versions = [];
    for (let i = 0; i < ${count}; i++) {
      versions.push(await storage.transaction(async (tx) => {
        // Read first, as a service does: with a DEFERRED begin, the later write could not wait its turn.
        await tx.registry.getPrompt(project.id, 'greeter');
        const prompt = await tx.registry.lockPrompt(project.id, 'greeter', at);
        const version = prompt.headVersion + 1;
        const sha = 'v' + version + '-' + 'x'.repeat(60);
        await tx.registry.insertVersion({ projectId: project.id, promptId: prompt.id, version, sha, content: '{}',
          parentSha: prompt.headSha, author: 'ada', message: 'm', createdAt: at });
        await tx.registry.setPromptHead(prompt.id, version, sha, at);
        return version;
      }));
    }
    await storage.close();
    process.stdout.write(JSON.stringify(versions) + '\\n');
    process.stdin.destroy();
  `;
  const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '--eval', script], {
    cwd: REPO_ROOT,
    env: { ...process.env, TSX_TSCONFIG_PATH: tsconfig },
  });
  let stdout = '';
  let stderr = '';
  let onReady: () => void = () => undefined;
  const ready = new Promise<void>((resolve) => (onReady = resolve));
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (stdout.startsWith('ready\n')) onReady();
  });
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number[]>((resolve, reject) => {
    child.on('error', reject);
    child.on('close', (code) => {
      if (code === 0) resolve(JSON.parse(stdout.slice('ready\n'.length)) as number[]);
      else reject(new Error(`child exited ${code}: ${stderr}`));
    });
  });
  return {
    // A child that dies before it is ready fails `ready` too.
    ready: Promise.race([ready, exited.then(() => undefined)]),
    go: () => {
      child.stdin.write('go\n');
      return exited;
    },
  };
};

const runChildren = async (url: string, countEach: number): Promise<number[][]> => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-child-'));
  try {
    const tsconfig = join(dir, 'tsconfig.json');
    writeFileSync(
      tsconfig,
      JSON.stringify({
        compilerOptions: { baseUrl: REPO_ROOT, paths: { '@promptops/core': ['packages/core/src/index.ts'] } },
      }),
    );
    const children = [startChild(url, countEach, tsconfig), startChild(url, countEach, tsconfig)];
    await Promise.all(children.map((child) => child.ready));
    return await Promise.all(children.map((child) => child.go()));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
};

describe('parseDbUrl', () => {
  it.each([
    ['sqlite:./data/promptops.db', { dialect: 'sqlite', path: './data/promptops.db' }],
    ['sqlite:///var/lib/promptops.db', { dialect: 'sqlite', path: '/var/lib/promptops.db' }],
    ['sqlite::memory:', { dialect: 'sqlite', path: ':memory:' }],
    ['.promptops/registry.db', { dialect: 'sqlite', path: '.promptops/registry.db' }],
    ['postgres://u:p@db:5432/promptops', { dialect: 'postgres', url: 'postgres://u:p@db:5432/promptops' }],
    ['postgresql://db/promptops', { dialect: 'postgres', url: 'postgresql://db/promptops' }],
  ])('reads %s', (value, target) => {
    expect(parseDbUrl(value)).toEqual(target);
  });

  it.each(['', 'mysql://db/promptops', 'postgres:db', 'sqlite:', 'http://example.com'])(
    'rejects "%s" naming the value and the accepted forms',
    (value) => {
      const error = (() => {
        try {
          parseDbUrl(value);
        } catch (caught) {
          return caught;
        }
        return undefined;
      })();
      expect(isPromptopsError(error)).toBe(true);
      expect(error).toMatchObject({ kind: 'invalid', code: 'invalid_db_url' });
      expect((error as Error).message).toContain(`"${value}"`);
      expect((error as { fix: string }).fix).toMatch(/sqlite:PATH.*postgres:\/\//);
    },
  );

  it('createStorage opens an in-memory SQLite database and migrates it', async () => {
    const storage = await createStorage('sqlite::memory:');
    try {
      expect(await storage.registry.countProjects()).toBe(0);
    } finally {
      await storage.close();
    }
  });

  it('createStorage rejects a bad URL before opening anything', async () => {
    await expect(createStorage('mongodb://db')).rejects.toMatchObject({ code: 'invalid_db_url' });
  });
});
