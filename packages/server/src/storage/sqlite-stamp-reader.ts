import { closeSync, openSync, readSync } from 'node:fs';
import SqliteDatabase from 'better-sqlite3';

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
 */

const HEADER_BYTES = 48;
const IS_INIT_OFFSET = 12;

export class SqliteStampReader {
  #database: SqliteDatabase.Database | undefined;
  #statement: SqliteDatabase.Statement<[number], number> | undefined;
  #shm: number | undefined;
  readonly #header = Buffer.alloc(2 * HEADER_BYTES);
  /** The header the stamps below were read under (copy 1 of the last consistent read). */
  readonly #seen = Buffer.alloc(HEADER_BYTES);
  #stamps = new Map<number, number>();

  constructor(private readonly file: string) {}

  /** The current WAL-index header if it reads consistently; undefined when it cannot be trusted or read. */
  #readHeader(): Buffer | undefined {
    if (this.#shm === undefined) return undefined;
    try {
      if (readSync(this.#shm, this.#header, 0, this.#header.length, 0) !== this.#header.length) return undefined;
    } catch {
      return undefined;
    }
    const first = this.#header.subarray(0, HEADER_BYTES);
    if (first[IS_INIT_OFFSET] !== 1 || !first.equals(this.#header.subarray(HEADER_BYTES))) return undefined;
    return first;
  }

  read(projectId: number): number {
    // Opened on first use: the file and its tables exist only after the migrations ran.
    if (this.#statement === undefined) {
      this.#database = new SqliteDatabase(this.file, { readonly: true, fileMustExist: true });
      this.#database.pragma('busy_timeout = 5000');
      this.#statement = this.#database
        .prepare<[number], number>('SELECT coalesce(max(seq), 0) FROM audit_log WHERE project_id = ?')
        .pluck();
      try {
        // Present while a connection has the database open in WAL mode (this one does).
        this.#shm = openSync(`${this.file}-shm`, 'r');
      } catch {
        this.#shm = undefined; // not WAL: every read takes the statement
      }
    }
    const header = this.#readHeader();
    if (header === undefined) return this.#query(projectId);
    if (!header.equals(this.#seen)) {
      header.copy(this.#seen);
      this.#stamps = new Map();
    }
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
    if (this.#shm !== undefined) closeSync(this.#shm);
    this.#shm = undefined;
    this.#database?.close();
    this.#database = undefined;
    this.#statement = undefined;
    this.#stamps = new Map();
  }
}
