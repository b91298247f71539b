import { readFileSync } from 'node:fs';
import { endianness } from 'node:os';
import { dirname, join } from 'node:path';
import Database from 'better-sqlite3';
import { describe, expect, it } from 'vitest';
import { startWalCheckpointer } from '../src/storage/wal-checkpointer.js';
import { testDatabase } from './support/databases.js';
import { waitFor } from './support/wait.js';

/**
 * The checkpointer thread backfills the WAL while the writer, whose own automatic checkpoints are off,
 * keeps writing. Read from the WAL index (https://www.sqlite.org/walformat.html): the header's mxFrame
 * (offset 16) is the last valid frame, the checkpoint info's nBackfill (offset 96) how far it has been
 * copied into the database; both in the machine's byte order.
 */

/** A fresh SQLite file from the test database fixture. */
const sqliteFile = async (): Promise<string> => (await testDatabase('sqlite')).slice('sqlite:'.length);

const walState = (file: string): { mxFrame: number; nBackfill: number } => {
  const shm = readFileSync(`${file}-shm`);
  const u32 = (offset: number) => (endianness() === 'LE' ? shm.readUInt32LE(offset) : shm.readUInt32BE(offset));
  return { mxFrame: u32(16), nBackfill: u32(96) };
};

const writerWithUncheckpointedWal = async () => {
  const file = await sqliteFile();
  const writer = new Database(file);
  writer.pragma('journal_mode = WAL');
  writer.pragma('wal_autocheckpoint = 0');
  writer.exec('create table t (x blob)');
  const insert = writer.prepare('insert into t (x) values (?)');
  writer.transaction(() => {
    for (let i = 0; i < 200; i += 1) insert.run(Buffer.alloc(6000, i));
  })();
  return { file, writer };
};

const backfilled = (file: string): Promise<void> =>
  waitFor(() => walState(file).nBackfill === walState(file).mxFrame, 'the WAL to be backfilled');

describe('WAL checkpointer thread', () => {
  it('backfills what the writer committed, without the writer checkpointing, and stops on close', async () => {
    const { file, writer } = await writerWithUncheckpointedWal();
    try {
      const before = walState(file);
      expect(before.mxFrame).toBeGreaterThan(300);
      // Nothing checkpoints yet (the writer's automatic checkpoints are off): the frames are in the WAL only.
      expect(walState(file).nBackfill).toBe(0);

      const checkpointer = startWalCheckpointer(file, 20);
      await backfilled(file);
      // The writer sees the backfilled WAL and starts it over: the WAL no longer grows.
      writer.prepare('insert into t (x) values (?)').run(Buffer.alloc(10));
      expect(walState(file).mxFrame).toBeLessThan(before.mxFrame);
      expect(writer.prepare('select count(*) as n from t').get()).toEqual({ n: 201 });

      await checkpointer.close();
      writer.transaction(() => {
        for (let i = 0; i < 100; i += 1) writer.prepare('insert into t (x) values (?)').run(Buffer.alloc(6000));
      })();
      const after = walState(file);
      // A second checkpointer on another file is the clock: three backfills there, none here.
      const other = await writerWithUncheckpointedWal();
      const clock = startWalCheckpointer(other.file, 20);
      try {
        for (let tick = 0; tick < 3; tick += 1) {
          other.writer.prepare('insert into t (x) values (?)').run(Buffer.alloc(6000));
          await backfilled(other.file);
        }
      } finally {
        await clock.close();
        other.writer.close();
      }
      expect(walState(file).nBackfill).toBe(after.nBackfill);
    } finally {
      writer.close();
    }
  });

  it("backfills between the writer's commits, so each next commit starts the WAL over", async () => {
    const { file, writer } = await writerWithUncheckpointedWal();
    const checkpointer = startWalCheckpointer(file);
    try {
      const insert = writer.prepare('insert into t (x) values (?)');
      const commit = writer.transaction(() => {
        for (let i = 0; i < 20; i += 1) insert.run(Buffer.alloc(6000, i));
      });
      let written = walState(file).mxFrame;
      let largest = 0;
      let oneCommit = Infinity;
      for (let round = 0; round < 10; round += 1) {
        // The thread backfills soon after a commit (on a busy machine, later: it runs at a lower priority).
        await backfilled(file);
        commit();
        const after = walState(file).mxFrame;
        // Started over: the WAL holds this commit's frames only (appended, it would hold the earlier ones too).
        oneCommit = Math.min(oneCommit, after);
        expect(after).toBe(oneCommit);
        written += after;
        largest = Math.max(largest, after);
      }
      // Without the thread the WAL would hold every frame written (the writer never checkpoints).
      expect(largest).toBeLessThan(written / 4);
    } finally {
      await checkpointer.close();
      writer.close();
    }
  });

  it('ends quietly when the file does not exist (the writers keep their own checkpoints)', async () => {
    const checkpointer = startWalCheckpointer(join(dirname(await sqliteFile()), 'missing.db'), 20);
    await expect(checkpointer.close()).resolves.toBeUndefined();
  });
});
