import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';
import { SqliteStampReader } from '../src/storage/sqlite-stamp-reader.js';

/**
 * The stamp reader answers from the WAL-index header when nothing has committed since its last statement.
 * What must hold: it never returns a stamp older than the newest committed one, whoever committed it (this
 * connection's process, another connection, another process), and it ignores what is not committed.
 */

const dirs: string[] = [];
/** Connections the current test opened, closed after it, newest first (readers before their writer). */
const opened: { close(): unknown }[] = [];
afterEach(() => {
  for (const connection of opened.splice(0).reverse()) connection.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

const openReader = (file: string): SqliteStampReader => {
  const reader = new SqliteStampReader(file);
  opened.push(reader);
  return reader;
};

const database = (journal: 'wal' | 'delete' = 'wal') => {
  const dir = mkdtempSync(join(tmpdir(), 'promptops-stamp-'));
  dirs.push(dir);
  const file = join(dir, 'stamp.db');
  const writer = new Database(file);
  opened.push(writer);
  writer.pragma(`journal_mode = ${journal}`);
  writer.exec(
    'create table audit_log (project_id integer not null, seq integer not null, primary key (project_id, seq))',
  );
  const append = writer.prepare('insert into audit_log (project_id, seq) values (?, ?)');
  return { file, writer, append: (project: number, seq: number) => append.run(project, seq) };
};

describe('SqliteStampReader', () => {
  it('sees every commit of another connection at once, per project, and nothing uncommitted', () => {
    const { file, writer, append } = database();
    const reader = openReader(file);
    expect(reader.read(1)).toBe(0);
    append(1, 1);
    expect(reader.read(1)).toBe(1);
    expect(reader.read(1)).toBe(1);
    expect(reader.read(2)).toBe(0);
    append(2, 7);
    expect(reader.read(2)).toBe(7);
    expect(reader.read(1)).toBe(1);

    writer.exec('begin immediate');
    append(1, 2);
    expect(reader.read(1)).toBe(1);
    writer.exec('rollback');
    expect(reader.read(1)).toBe(1);
    writer.exec('begin immediate');
    append(1, 3);
    expect(reader.read(1)).toBe(1);
    writer.exec('commit');
    expect(reader.read(1)).toBe(3);

    // A checkpoint that truncates the WAL changes nothing readers see.
    writer.pragma('wal_checkpoint(TRUNCATE)');
    expect(reader.read(1)).toBe(3);
    append(1, 4);
    expect(reader.read(1)).toBe(4);
  });

  it('sees a commit made by another process', () => {
    const { file, append } = database();
    const reader = openReader(file);
    append(1, 1);
    expect(reader.read(1)).toBe(1);
    const script = `const D = require(${JSON.stringify(createRequire(import.meta.url).resolve('better-sqlite3'))});
      const db = new D(${JSON.stringify(file)}); db.pragma('busy_timeout = 5000');
      db.prepare('insert into audit_log (project_id, seq) values (1, 2)').run(); db.close();`;
    execFileSync(process.execPath, ['-e', script]);
    expect(reader.read(1)).toBe(2);
  });

  it('matches the newest committed seq after any sequence of commits, rollbacks and reads', () => {
    const { file, writer, append } = database();
    const reader = openReader(file);
    const newest = writer.prepare('select coalesce(max(seq), 0) from audit_log where project_id = ?').pluck();
    let seq = 0;
    fc.assert(
      fc.property(
        fc.array(
          fc.record({ project: fc.integer({ min: 1, max: 3 }), op: fc.constantFrom('commit', 'rollback', 'read') }),
          { maxLength: 40 },
        ),
        (steps) => {
          for (const { project, op } of steps) {
            if (op === 'commit') append(project, (seq += 1));
            else if (op === 'rollback') {
              writer.exec('begin immediate');
              append(project, (seq += 1));
              writer.exec('rollback');
            }
            expect(reader.read(project)).toBe(newest.get(project));
          }
        },
      ),
    );
  });

  it('reads with the statement alone when the database is not in WAL mode', () => {
    const { file, append } = database('delete');
    const reader = openReader(file);
    append(1, 1);
    expect(reader.read(1)).toBe(1);
    append(1, 2);
    expect(reader.read(1)).toBe(2);
  });

  describe('readSoon (the request path)', () => {
    const soon = (reader: SqliteStampReader, project: number): Promise<number> =>
      new Promise((resolve, reject) =>
        reader.readSoon(project, (error, stamp) => (error === null ? resolve(stamp) : reject(error))),
      );

    it('answers the calls of one turn from one header read, each with its own project', async () => {
      const { file, append } = database();
      const reader = openReader(file);
      append(1, 1);
      append(2, 5);
      expect(reader.read(1)).toBe(1); // opened, header seen
      const reads = reader.headerReads;
      const answers = await Promise.all([soon(reader, 1), soon(reader, 2), soon(reader, 1), soon(reader, 3)]);
      expect(answers).toEqual([1, 5, 1, 0]);
      expect(reader.headerReads).toBe(reads + 1);
      // The next turn reads again.
      append(1, 2);
      expect(await soon(reader, 1)).toBe(2);
      expect(reader.headerReads).toBe(reads + 2);
    });

    it('sees a commit made after the call and before the answer: the read starts after the call', async () => {
      const { file, append } = database();
      const reader = openReader(file);
      append(1, 1);
      expect(reader.read(1)).toBe(1);
      const answer = soon(reader, 1);
      append(1, 2); // committed in the same turn, after the call
      expect(await answer).toBe(2);
    });

    it('answers calls still waiting at close with an error, and opens nothing again', async () => {
      const { file, append } = database();
      const reader = openReader(file);
      append(1, 1);
      expect(reader.read(1)).toBe(1);
      const waiting = soon(reader, 1);
      reader.close();
      await expect(waiting).rejects.toThrow(/closed/);
      expect(() => reader.read(1)).toThrow(/closed/);
    });

    it('hands a failed read to every waiting call', async () => {
      const dir = mkdtempSync(join(tmpdir(), 'promptops-stamp-'));
      dirs.push(dir);
      const reader = openReader(join(dir, 'missing.db'));
      const answers = await Promise.allSettled([soon(reader, 1), soon(reader, 2)]);
      expect(answers.map((answer) => answer.status)).toEqual(['rejected', 'rejected']);
      expect(String((answers[0] as PromiseRejectedResult).reason)).toMatch(/missing\.db|unable to open/i);
    });
  });
});
