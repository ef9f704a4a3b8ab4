import type Database from 'better-sqlite3';
import type { JobRow, LoadRow } from './row';
import type { SqliteClient } from './client';
import { DIMENSIONS, type Dimension, IdCache } from './dimensions';
import { type BatchResult, BUMP_GENERATION, type LoadStore, storeJobs } from './store';

interface DimensionStatements {
  dimension: Dimension;
  cache: IdCache;
  select: Database.Statement;
  insert: Database.Statement;
}

/**
 * The same semantics on SQLite: one IMMEDIATE transaction per batch (so two loaders queue instead of deadlocking), names
 * selected before they are inserted, and identity collisions ignored by an upsert that, unlike INSERT OR IGNORE, still
 * fails on bad values.
 */
export class SqliteStore implements LoadStore {
  readonly dialect = 'sqlite';
  readonly maxBatchBytes = 64 * 1024 * 1024;
  readonly maxInFlight = 1;
  private readonly dimensions: DimensionStatements[];
  private readonly insertFact: Database.Statement;
  private readonly transaction: Database.Transaction<(rows: LoadRow[]) => number>;

  constructor(private readonly client: SqliteClient) {
    const db = client.db;
    this.dimensions = DIMENSIONS.map((dimension) => ({
      dimension,
      cache: new IdCache(),
      select: db.prepare(`SELECT id FROM ${dimension.table} WHERE ${dimension.key} = ?`).pluck(),
      insert: db.prepare(`INSERT INTO ${dimension.table} (${dimension.columns.join(', ')}) VALUES (${dimension.columns.map(() => '?').join(', ')})`),
    }));
    this.insertFact = db.prepare(
      'INSERT INTO module_loads (time, user_id, host_id, module_id, path_id, jobid, userload, extra, cluster) ' +
        'VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (time, user_id, host_id, module_id) DO NOTHING',
    );
    const bump = db.prepare(BUMP_GENERATION);
    this.transaction = db.transaction((rows: LoadRow[]) => {
      const inserted = this.insertRows(rows);
      if (inserted > 0) bump.run();
      return inserted;
    });
  }

  async loadBatch(rows: LoadRow[]): Promise<BatchResult> {
    let inserted: number;
    try {
      inserted = this.transaction.immediate(rows);
    } catch (err) {
      // Ids first seen in the rolled-back transaction do not exist: forget them all.
      for (const d of this.dimensions) d.cache.clear();
      throw err;
    }
    return { inserted, present: rows.length - inserted };
  }

  loadJobs(rows: JobRow[]): Promise<BatchResult> {
    return storeJobs(this.client, rows);
  }

  private insertRows(rows: LoadRow[]): number {
    const [users, hosts, modules, paths] = this.dimensions;
    let inserted = 0;
    for (const row of rows) {
      const pathId = row.path === null ? null : this.id(paths, row.path);
      const userId = this.id(users, row.user);
      const hostId = this.id(hosts, row.host);
      const moduleId = this.id(modules, row.module);
      inserted += this.insertFact.run(row.time, userId, hostId, moduleId, pathId, row.jobid, row.userload, row.extra, row.cluster).changes;
    }
    return inserted;
  }

  private id(d: DimensionStatements, key: string): number {
    let id = d.cache.get(key);
    if (id === undefined) {
      const found = d.select.get(key) as number | bigint | undefined;
      id = Number(found ?? d.insert.run(...d.dimension.values(key)).lastInsertRowid);
      d.cache.set(key, id);
    }
    return id;
  }
}
