import { closeSync, openSync, readSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';
/** The stamp, or the error of reading it. */
export type StampCallback = (error: Error | null, stamp: number) => void;

/**
 * Reads a project's change stamp (newest audit seq) synchronously, on a read-only connection of its own.
 * The stamp is read on every authenticated request; through Kysely that read costs a queue of promises
 * on the one shared connection, and on that connection it could also land inside another request's open
 * transaction and see an entry that is later rolled back. A connection of its own reads only committed
 * state (WAL: each statement is its own read transaction).
 *
 * Even so, a statement costs a read transaction (locks on the WAL index) per request: measured, the
 * largest cost of the read hot path. So the reader first looks at the WAL-index header, which every
 * commit of every connection and process changes (its `iChange` counter, frame count and salts; format:
 * https://www.sqlite.org/walformat.html), by reading the first 96 bytes of the `-shm` file: one `pread`.
 * When the header is the one a stamp was read under, nothing has committed since, and that stamp is
 * still the newest. The header is kept in two copies that a writer updates one after the other; a read
 * that finds them different (mid-update) or uninitialized takes the statement. Reading the header before
 * the statement makes a stamp at least as new as the header it is filed under, so a commit in between
 * only costs one more statement later.
 *
 * On the request path even that `pread` is shared: `readSoon` answers from one header read at the end of
 * the event loop's turn (`setImmediate`), for every call made during the turn. The read starts after each
 * waiting call was made, hence after the request behind it was received: a commit acknowledged before a
 * client sent its request is seen by that request, as with one read per request.
 */

const HEADER_BYTES = 48;
const IS_INIT_OFFSET = 12;
/** The header in 32-bit words: compared word by word in JS (cheaper than native `equals` calls per request). */
const HEADER_WORDS = HEADER_BYTES / 4;

export class SqliteStampReader {
  #database: SqliteDatabase.Database | undefined;
  #statement: SqliteDatabase.Statement<[number], number> | undefined;
  #shm: number | undefined;
  readonly #header = Buffer.alloc(2 * HEADER_BYTES);
  readonly #words = new Int32Array(this.#header.buffer, this.#header.byteOffset, 2 * HEADER_WORDS);
  /** The header the stamps below were read under (copy 1 of the last consistent read). */
  readonly #seen = new Int32Array(HEADER_WORDS);
  #stamps = new Map<number, number>();
  #waiting: { projectId: number; callback: StampCallback }[] = [];
  #headerReads = 0;
  #closed = false;

  constructor(private readonly file: string) {}

  /** How many times the WAL-index header was read (tests and benchmarks count the shared reads). */
  get headerReads(): number {
    return this.#headerReads;
  }

  /** Whether the current WAL-index header reads consistently (both copies equal, initialized). */
  #readHeader(): boolean {
    if (this.#shm === undefined) return false;
    this.#headerReads += 1;
    try {
      if (readSync(this.#shm, this.#header, 0, this.#header.length, 0) !== this.#header.length) return false;
    } catch {
      return false;
    }
    if (this.#header[IS_INIT_OFFSET] !== 1) return false;
    const words = this.#words;
    for (let i = 0; i < HEADER_WORDS; i += 1) if (words[i] !== words[i + HEADER_WORDS]) return false;
    return true;
  }

  /** Files the stamps under the header just read; a different header than last time empties them. */
  #sameHeaderAsSeen(): boolean {
    const words = this.#words;
    const seen = this.#seen;
    let same = true;
    for (let i = 0; i < HEADER_WORDS; i += 1) {
      if (words[i] !== seen[i]) {
        seen[i] = words[i]!;
        same = false;
      }
    }
    return same;
  }

  /** The project's stamp now, synchronously: one header read, and the statement when it changed. */
  read(projectId: number): number {
    this.#open();
    return this.#stamp(projectId, this.#refresh());
  }

  /**
   * The project's stamp from a header read that starts after this call, shared by every call of this turn
   * of the event loop. The callback runs in `setImmediate`, once, with the stamp or the error of reading it;
   * it must not throw.
   */
  readSoon(projectId: number, callback: StampCallback): void {
    this.#waiting.push({ projectId, callback });
    if (this.#waiting.length === 1) setImmediate(this.#answerWaiting);
  }

  readonly #answerWaiting = (): void => {
    const waiting = this.#waiting;
    this.#waiting = [];
    let cacheable = false;
    let failure: Error | null = null;
    try {
      this.#open();
      cacheable = this.#refresh();
    } catch (error) {
      failure = error as Error;
    }
    for (const { projectId, callback } of waiting) {
      let stamp = 0;
      let error = failure;
      if (error === null) {
        try {
          stamp = this.#stamp(projectId, cacheable);
        } catch (thrown) {
          error = thrown as Error;
        }
      }
      try {
        callback(error, stamp);
      } catch (thrown) {
        // A callback must not throw; if one does, the others are still answered before it surfaces.
        queueMicrotask(() => {
          throw thrown;
        });
      }
    }
  };

  #open(): void {
    // Opened on first use: the file and its tables exist only after the migrations ran.
    if (this.#statement !== undefined) return;
    // Calls still waiting when the storage closes are answered with this, and nothing opens again.
    if (this.#closed) throw new Error('the stamp reader is closed');
    const database = new SqliteDatabase(this.file, { readonly: true, fileMustExist: true });
    try {
      database.pragma('busy_timeout = 5000');
      this.#statement = database
        .prepare<[number], number>('SELECT coalesce(max(seq), 0) FROM audit_log WHERE project_id = ?')
        .pluck();
    } catch (error) {
      database.close(); // no table yet: the next read opens it again
      throw error;
    }
    this.#database = database;
    try {
      // Present while a connection has the database open in WAL mode (this one does).
      this.#shm = openSync(`${this.file}-shm`, 'r');
    } catch {
      this.#shm = undefined; // not WAL: every read takes the statement
    }
  }

  /**
   * Reads the WAL-index header. True when stamps filed under it may be used: it read consistently, and the
   * stamps were read under this very header (a different one empties them).
   */
  #refresh(): boolean {
    if (!this.#readHeader()) return false;
    if (!this.#sameHeaderAsSeen()) this.#stamps = new Map();
    return true;
  }

  #stamp(projectId: number, cacheable: boolean): number {
    if (!cacheable) return this.#query(projectId);
    let stamp = this.#stamps.get(projectId);
    if (stamp === undefined) {
      stamp = this.#query(projectId);
      this.#stamps.set(projectId, stamp);
    }
    return stamp;
  }

  #query(projectId: number): number {
    return Number(this.#statement?.get(projectId) ?? 0);
  }

  close(): void {
    this.#closed = true;
    if (this.#shm !== undefined) closeSync(this.#shm);
    this.#shm = undefined;
    this.#database?.close();
    this.#database = undefined;
    this.#statement = undefined;
    this.#stamps = new Map();
  }
}
