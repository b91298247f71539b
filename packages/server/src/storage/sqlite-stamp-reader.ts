import SqliteDatabase from 'better-sqlite3';

/**
 * Reads a project's change stamp (newest audit seq) synchronously, on a read-only connection of its own.
 * The stamp is read on every authenticated request; through Kysely that read costs a queue of promises
 * on the one shared connection, and on that connection it could also land inside another request's open
 * transaction and see an entry that is later rolled back. A connection of its own reads only committed
 * state (WAL: each statement is its own read transaction).
 */
export class SqliteStampReader {
  #database: SqliteDatabase.Database | undefined;
  #statement: SqliteDatabase.Statement<[number], number> | undefined;

  constructor(private readonly file: string) {}

  read(projectId: number): number {
    // Opened on first use: the file and its tables exist only after the migrations ran.
    if (this.#statement === undefined) {
      this.#database = new SqliteDatabase(this.file, { readonly: true, fileMustExist: true });
      this.#database.pragma('busy_timeout = 5000');
      this.#statement = this.#database
        .prepare<[number], number>('SELECT coalesce(max(seq), 0) FROM audit_log WHERE project_id = ?')
        .pluck();
    }
    return Number(this.#statement.get(projectId) ?? 0);
  }

  close(): void {
    this.#database?.close();
    this.#database = undefined;
    this.#statement = undefined;
  }
}
