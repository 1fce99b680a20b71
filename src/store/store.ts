/**
 * Durable state: one SQLite database (WAL) under `--root`. Records are JSON documents keyed by
 * (kind, id) with a schema version, so a later berth can read what an earlier one wrote.
 *
 * Invariants: the store is written only after the kernel agreed (engine commits last); every
 * write is one transaction; a `kill -9` at any moment leaves either the old or the new record.
 * WAL with synchronous=NORMAL survives a process crash (not a power cut), which is what the
 * daemon promises.
 */
import Database from 'better-sqlite3';
import { BerthError } from '../errors.js';

/** The kinds of record berth keeps. */
export type RecordKind = 'network' | 'container' | 'endpoint' | 'meta';

/** Current document schema version; bump with a migration in `readDoc` when shapes change. */
export const SCHEMA_VERSION = 1;

/** Durable key/document store with transactions. Synchronous (better-sqlite3). */
export class Store {
  readonly #db: Database.Database;
  readonly #get: Database.Statement;
  readonly #list: Database.Statement;
  readonly #put: Database.Statement;
  readonly #del: Database.Statement;

  private constructor(db: Database.Database) {
    this.#db = db;
    db.exec(`CREATE TABLE IF NOT EXISTS records (
      kind TEXT NOT NULL,
      id TEXT NOT NULL,
      version INTEGER NOT NULL,
      doc TEXT NOT NULL,
      seq INTEGER NOT NULL,
      PRIMARY KEY (kind, id)
    ) WITHOUT ROWID`);
    this.#get = db.prepare('SELECT version, doc FROM records WHERE kind = ? AND id = ?');
    this.#list = db.prepare('SELECT version, doc FROM records WHERE kind = ? ORDER BY seq');
    this.#put = db.prepare(
      `INSERT INTO records (kind, id, version, doc, seq) VALUES (@kind, @id, @version, @doc,
         COALESCE((SELECT MAX(seq) FROM records), 0) + 1)
       ON CONFLICT (kind, id) DO UPDATE SET version = excluded.version, doc = excluded.doc`,
    );
    this.#del = db.prepare('DELETE FROM records WHERE kind = ? AND id = ?');
  }

  /** Opens (creating if needed) the database at `path`; `:memory:` for tests. */
  static open(path: string): Store {
    try {
      const db = new Database(path);
      db.pragma('journal_mode = WAL');
      db.pragma('synchronous = NORMAL');
      db.pragma('busy_timeout = 5000');
      return new Store(db);
    } catch (err) {
      throw new BerthError('ERR_STORE', `open state database ${path}: ${(err as Error).message}`, { cause: err });
    }
  }

  /** Reads one document, or undefined. */
  get<T>(kind: RecordKind, id: string): T | undefined {
    const row = this.#get.get(kind, id) as { version: number; doc: string } | undefined;
    return row === undefined ? undefined : readDoc<T>(kind, row);
  }

  /** All documents of a kind, in insertion order. */
  list<T>(kind: RecordKind): T[] {
    return (this.#list.all(kind) as { version: number; doc: string }[]).map((row) => readDoc<T>(kind, row));
  }

  /** Inserts or replaces a document. */
  put(kind: RecordKind, id: string, doc: unknown): void {
    this.#run(() => this.#put.run({ kind, id, version: SCHEMA_VERSION, doc: JSON.stringify(doc) }));
  }

  /** Deletes a document; absent is fine. */
  delete(kind: RecordKind, id: string): void {
    this.#run(() => this.#del.run(kind, id));
  }

  /** Runs `fn` in one transaction: all its writes land together or not at all. */
  transaction<R>(fn: () => R): R {
    return this.#db.transaction(fn)();
  }

  close(): void {
    this.#db.close();
  }

  #run(fn: () => unknown): void {
    try {
      fn();
    } catch (err) {
      throw new BerthError('ERR_STORE', `write state: ${(err as Error).message}`, { cause: err });
    }
  }
}

function readDoc<T>(kind: RecordKind, row: { version: number; doc: string }): T {
  if (row.version > SCHEMA_VERSION) {
    throw new BerthError(
      'ERR_STORE',
      `a ${kind} record has schema version ${row.version}, newer than this berth (${SCHEMA_VERSION}): upgrade berth`,
    );
  }
  return JSON.parse(row.doc) as T;
}
