/**
 * Embedding cache in an embedded SQLite database (Node's built-in `node:sqlite`, a file in the output folder), keyed
 * by model + revision + kind + input hash. Each batch is stored in one transaction together with a ledger row, so a
 * run killed at any point (SIGKILL included) loses at most the batch in flight and never stores anything twice;
 * the next run computes only what is missing.
 *
 * Why node:sqlite and not better-sqlite3: better-sqlite3 needs a native build; on this project's machines npm runs
 * its install script under the system Node 20 while tests run on Node 22 (ABI mismatch), and no prebuilt binary can
 * be downloaded. node:sqlite ships with Node >= 22.13, the engine this repository requires.
 * @module
 */
import { SiglipError } from "@siglip-edge/core";
import { DatabaseSync } from "node:sqlite";

export type EmbeddingKind = "text" | "image";

export interface CacheEntry {
  hash: string;
  vector: Float32Array;
}

export class EmbeddingCache {
  readonly path: string;
  readonly #db: DatabaseSync;

  constructor(path: string) {
    this.path = path;
    try {
      this.#db = new DatabaseSync(path);
    } catch (err) {
      throw new SiglipError("INVALID_ARGUMENT", `cannot open embedding cache ${path}`, { cause: err });
    }
    // WAL: readers never block the writer; NORMAL sync is durable against process kills (the OS keeps the pages).
    this.#db.exec(`PRAGMA journal_mode = WAL; PRAGMA synchronous = NORMAL;
      CREATE TABLE IF NOT EXISTS embeddings (
        model TEXT NOT NULL, revision TEXT NOT NULL, kind TEXT NOT NULL, input_hash TEXT NOT NULL,
        dim INTEGER NOT NULL, vector BLOB NOT NULL,
        PRIMARY KEY (model, revision, kind, input_hash)) WITHOUT ROWID;
      CREATE TABLE IF NOT EXISTS ledger (
        run_id TEXT NOT NULL, seq INTEGER NOT NULL, kind TEXT NOT NULL, inserted INTEGER NOT NULL,
        PRIMARY KEY (run_id, seq));`);
  }

  /** Cached vectors for the given hashes (missing ones absent from the map). */
  getMany(model: string, revision: string, kind: EmbeddingKind, hashes: readonly string[]): Map<string, Float32Array> {
    const read = this.reader(model, revision, kind);
    const out = new Map<string, Float32Array>();
    for (const h of hashes) {
      const v = read(h);
      if (v !== undefined) out.set(h, v);
    }
    return out;
  }

  /**
   * The hashes without a cached vector, in input order. One range scan of the model's keys (a vector is never
   * read): about 4 µs a row here against 25 µs for a point lookup per hash, whose 3 KB rows live in overflow pages.
   */
  missing(model: string, revision: string, kind: EmbeddingKind, hashes: readonly string[]): string[] {
    const have = new Set<string>();
    const scan = this.#db.prepare("SELECT input_hash FROM embeddings WHERE model = ? AND revision = ? AND kind = ?");
    for (const row of scan.iterate(model, revision, kind)) have.add((row as { input_hash: string }).input_hash);
    return hashes.filter((h) => !have.has(h));
  }

  /**
   * A lookup of single cached vectors through one prepared statement, so a caller can hold one language's vectors
   * at a time instead of all of them (36 XM3600 languages at D = 768 are 0.8 GB).
   */
  reader(model: string, revision: string, kind: EmbeddingKind): (hash: string) => Float32Array | undefined {
    const stmt = this.#db.prepare("SELECT vector, dim FROM embeddings WHERE model = ? AND revision = ? AND kind = ? AND input_hash = ?");
    return (hash) => {
      const row = stmt.get(model, revision, kind, hash) as { vector: Uint8Array; dim: number } | undefined;
      return row === undefined ? undefined : new Float32Array(row.vector.slice().buffer, 0, row.dim); // own, aligned copy
    };
  }

  /**
   * Stores one computed batch atomically with its ledger row; returns how many vectors were new.
   * @param runId identifies the process run (ledger), @param seq batch number within the run
   */
  putBatch(model: string, revision: string, kind: EmbeddingKind, entries: readonly CacheEntry[], runId: string, seq: number): number {
    const insert = this.#db.prepare("INSERT OR IGNORE INTO embeddings (model, revision, kind, input_hash, dim, vector) VALUES (?, ?, ?, ?, ?, ?)");
    this.#db.exec("BEGIN IMMEDIATE");
    try {
      let inserted = 0;
      for (const e of entries) {
        const r = insert.run(model, revision, kind, e.hash, e.vector.length, new Uint8Array(e.vector.buffer, e.vector.byteOffset, e.vector.byteLength));
        inserted += Number(r.changes);
      }
      this.#db.prepare("INSERT INTO ledger (run_id, seq, kind, inserted) VALUES (?, ?, ?, ?)").run(runId, seq, kind, inserted);
      this.#db.exec("COMMIT");
      return inserted;
    } catch (err) {
      this.#db.exec("ROLLBACK");
      throw new SiglipError("INTERNAL", "could not write the embedding cache", { cause: err });
    }
  }

  /** Rows per model/revision/kind and the ledger's total of inserted vectors. */
  stats(): { vectors: number; ledgerInserted: number; runs: number } {
    const v = this.#db.prepare("SELECT COUNT(*) AS n FROM embeddings").get() as { n: number };
    const l = this.#db.prepare("SELECT COALESCE(SUM(inserted), 0) AS n, COUNT(DISTINCT run_id) AS r FROM ledger").get() as { n: number; r: number };
    return { vectors: Number(v.n), ledgerInserted: Number(l.n), runs: Number(l.r) };
  }

  close(): void {
    this.#db.close();
  }
}
