import type { JobRow, LoadRow } from './row';
import { inTransaction, type MysqlClient } from './client';
import { DIMENSIONS, type Dimension, IDENTITY_DIMENSIONS, IdCache } from './dimensions';
import { LOAD_FACTS, LOCAL_INFILE_REFUSED, factsText } from './load-data';
import { type BatchResult, BUMP_GENERATION, type LoadStore, storeJobs } from './store';

/** Names looked up per SELECT ... IN (...): well under MariaDB's IN-to-subquery threshold. */
const LOOKUP_CHUNK = 500;
/** The stored-rows check reads at most this many rows per batch row. */
const PRECHECK_FACTOR = 4;
/** Statements stay small whatever the server allows: batches of large `extra` values then stay bounded in memory. */
const STATEMENT_BYTES_CAP = 2 * 1024 * 1024;

export interface Fact {
  time: string;
  userId: number;
  hostId: number;
  moduleId: number;
  row: LoadRow;
  pathId: number | null;
}

/**
 * Loads the new rows of each batch with one LOAD DATA LOCAL, where the server allows it (a third of the server's work of
 * an INSERT), else with one multi-row INSERT (a single statement is its own transaction). Identity collisions in the
 * INSERT are no-op updates, not INSERT IGNORE, so a value the server would truncate is still an error; without
 * FOUND_ROWS, affectedRows is then exactly the new rows.
 */
export class MysqlStore implements LoadStore {
  readonly dialect = 'mysql';
  private readonly caches = new Map<Dimension, IdCache>(DIMENSIONS.map((d) => [d, new IdCache()]));
  /** One batch at a time resolves names, so two batches never insert the same new name. */
  private dimensionTurn: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly client: MysqlClient,
    readonly maxBatchBytes: number,
    readonly maxInFlight: number,
    /** Whether new rows go in with LOAD DATA LOCAL; turned off when the server refuses it. */
    private loadData: boolean,
  ) {}

  /** `loadData: false` keeps to multi-row INSERTs even where the server allows LOAD DATA LOCAL. */
  static async open(client: MysqlClient, maxInFlight: number, loadData = true): Promise<MysqlStore> {
    const [row] = await client.query<{ packet: number; local: number | null }>('SELECT @@max_allowed_packet AS packet, @@local_infile AS local');
    const bytes = Math.min(STATEMENT_BYTES_CAP, Math.floor(Number(row.packet) / 2));
    return new MysqlStore(client, bytes, maxInFlight, loadData && Number(row.local) === 1);
  }

  /** How new rows are sent: for the summary of a run. */
  get method(): 'LOAD DATA LOCAL' | 'INSERT' {
    return this.loadData ? 'LOAD DATA LOCAL' : 'INSERT';
  }

  async loadBatch(rows: LoadRow[]): Promise<BatchResult> {
    const fresh = await this.withoutStored(rows);
    if (fresh.length === 0) return { inserted: 0, present: rows.length };
    let facts = this.facts(fresh);
    if (facts === null) {
      const turn = this.dimensionTurn.then(() => this.resolveIds(fresh));
      this.dimensionTurn = turn.catch(() => undefined);
      await turn;
      facts = this.facts(fresh)!;
    }
    facts.sort(compareIdentity);
    const inserted = (this.loadData ? await this.loadFacts(facts) : null) ?? (await this.insertFacts(facts));
    return { inserted, present: rows.length - inserted };
  }

  loadJobs(rows: JobRow[]): Promise<BatchResult> {
    return storeJobs(this.client, rows);
  }

  /** The facts through one multi-row INSERT, in a transaction with the generation bump: the rows added. */
  private insertFacts(facts: Fact[]): Promise<number> {
    return inTransaction(this.client, async (tx) => {
      const inserted = await tx.run(insertFacts(facts));
      if (inserted > 0) await tx.run(BUMP_GENERATION);
      return inserted;
    });
  }

  /**
   * The facts through LOAD DATA LOCAL, in a transaction of their own: the rows added, or null when the server refuses
   * LOAD DATA LOCAL (from now on, INSERTs) or cut a value (rolled back: the INSERT then reports the record).
   */
  private async loadFacts(facts: Fact[]): Promise<number | null> {
    try {
      return await inTransaction(
        this.client,
        async (tx) => {
          const { affectedRows, warnings } = await tx.loadLocal(LOAD_FACTS, factsText(facts));
          // Each identity already stored is skipped with one warning; any other warning is a cut value.
          if (warnings > facts.length - affectedRows) return null;
          if (affectedRows > 0) await tx.run(BUMP_GENERATION);
          return affectedRows;
        },
        (added) => added !== null,
      );
    } catch (err) {
      if (!LOCAL_INFILE_REFUSED.has((err as { errno?: number }).errno ?? 0)) throw err;
      this.loadData = false;
      return null;
    }
  }

  /** The rows with their ids, or null while some name has no cached id yet (one lookup per name in the common case). */
  private facts(rows: LoadRow[]): Fact[] | null {
    const [users, hosts, modules, paths] = DIMENSIONS.map((d) => this.caches.get(d)!);
    const facts: Fact[] = new Array(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const row = rows[i];
      const userId = users.get(row.user);
      const hostId = hosts.get(row.host);
      const moduleId = modules.get(row.module);
      const pathId = row.path === null ? null : paths.get(row.path);
      if (userId === undefined || hostId === undefined || moduleId === undefined || pathId === undefined) return null;
      facts[i] = { time: row.time, userId, hostId, moduleId, pathId, row };
    }
    return facts;
  }

  /**
   * The rows whose identity is not stored yet. The stored rows of the batch's time range are read back by name, in one
   * range scan of the clustered key, and matched in one walk by time: a reload then looks up no ids and sends no INSERT.
   * A range that holds many other rows (unsorted input) skips the check and leaves it to the no-op upsert.
   */
  private async withoutStored(rows: LoadRow[]): Promise<LoadRow[]> {
    rows.sort(byTime);
    const limit = PRECHECK_FACTOR * rows.length;
    const query = 'SELECT time, user_id, host_id, module_id FROM module_loads WHERE ';
    const stored = (await this.client.queryArrays(`${query}time BETWEEN ? AND ? ORDER BY time LIMIT ?`, [
      rows[0].time,
      rows[rows.length - 1].time,
      limit + 1,
    ])) as [string, number, number, number][];
    if (stored.length === 0 || stored.length > limit) return rows;
    const [users, hosts, modules] = IDENTITY_DIMENSIONS.map((d) => this.caches.get(d)!);
    await this.learnNames(stored);
    const fresh: LoadRow[] = [];
    let next = 0;
    for (const row of rows) {
      while (next < stored.length && stored[next][0] < row.time) next++;
      let found = false;
      // Rows of one time are few: each is compared with all stored rows of that time.
      for (let i = next; i < stored.length && stored[i][0] === row.time && !found; i++) {
        const [, userId, hostId, moduleId] = stored[i];
        found = users.nameOf(userId) === row.user && hosts.nameOf(hostId) === row.host && modules.nameOf(moduleId) === row.module;
      }
      if (!found) fresh.push(row);
    }
    return fresh;
  }

  /** Caches the names of stored ids this loader has not met (rows another loader stored). */
  private async learnNames(stored: [string, number, number, number][]): Promise<void> {
    for (let d = 0; d < IDENTITY_DIMENSIONS.length; d++) {
      const dimension = IDENTITY_DIMENSIONS[d];
      const cache = this.caches.get(dimension)!;
      const unknown = new Set<number>();
      for (const row of stored) if (cache.nameOf(row[d + 1] as number) === undefined) unknown.add(row[d + 1] as number);
      await this.lookUp(dimension, cache, 'id', [...unknown]);
    }
  }

  private async resolveIds(rows: LoadRow[]): Promise<void> {
    for (const dimension of DIMENSIONS) {
      const cache = this.caches.get(dimension)!;
      let missing = cache.missing(dimension, rows);
      // Select first and insert only what is missing, so reloads burn no AUTO_INCREMENT ids; a name another loader
      // inserted meanwhile is a duplicate key: select again.
      for (let attempt = 0; missing.length > 0; attempt++) {
        await this.lookUp(dimension, cache, dimension.key, missing);
        missing = missing.filter((key) => cache.get(key) === undefined);
        if (missing.length === 0) break;
        if (attempt === 3) throw new Error(`could not store new ${dimension.table} rows after ${attempt} attempts`);
        try {
          await this.insertNames(dimension, missing.sort());
        } catch (err) {
          if ((err as NodeJS.ErrnoException).code !== 'ER_DUP_ENTRY') throw err;
        }
      }
    }
  }

  /** Caches the stored rows of a dimension whose `column` (its id or its name) is one of `values`. */
  private async lookUp(dimension: Dimension, cache: IdCache, column: string, values: (number | string)[]): Promise<void> {
    for (let i = 0; i < values.length; i += LOOKUP_CHUNK) {
      const sql = `SELECT id, ${dimension.key} AS k FROM ${dimension.table} WHERE ${column} IN (?)`;
      for (const { id, k } of await this.client.query<{ id: number; k: string }>(sql, [values.slice(i, i + LOOKUP_CHUNK)])) cache.set(k, id);
    }
  }

  private async insertNames(dimension: Dimension, keys: string[]): Promise<void> {
    const head = `INSERT INTO ${dimension.table} (${dimension.columns.join(', ')}) VALUES `;
    let tuples: string[] = [];
    let bytes = head.length;
    const flush = async (): Promise<void> => {
      if (tuples.length > 0) await this.client.run(head + tuples.join(','));
      tuples = [];
      bytes = head.length;
    };
    for (const key of keys) {
      const tuple = `(${dimension.values(key).map(sqlString).join(',')})`;
      if (bytes + tuple.length * 3 > this.maxBatchBytes) await flush();
      tuples.push(tuple);
      bytes += tuple.length * 3 + 1;
    }
    await flush();
  }
}

/** Orders facts by their identity, so concurrent loaders lock keys in the same order. */
function compareIdentity(a: Fact, b: Fact): number {
  if (a.time !== b.time) return a.time < b.time ? -1 : 1;
  return a.userId - b.userId || a.hostId - b.hostId || a.moduleId - b.moduleId;
}

const SPECIAL = /[\0\b\t\n\r\x1a"'\\]/g;
const ESCAPES: Record<string, string> = { '\0': '\\0', '\b': '\\b', '\t': '\\t', '\n': '\\n', '\r': '\\r', '\x1a': '\\Z' };

/**
 * A MySQL string literal (or NULL), escaped in one pass: mysql2's escape joins a piece per special character, and a
 * value with thousands of them (a large `extra`) held hundreds of MB in the pieces.
 */
function sqlString(value: string | null): string {
  return value === null ? 'NULL' : `'${value.replace(SPECIAL, (c) => ESCAPES[c] ?? `\\${c}`)}'`;
}

function byTime(a: { time: string }, b: { time: string }): number {
  return a.time < b.time ? -1 : a.time > b.time ? 1 : 0;
}

/** The batch as one statement. `time` is validated text and ids are integers: only the free text is escaped. */
function insertFacts(facts: Fact[]): string {
  const tuple = (f: Fact): string =>
    `('${f.time}',${f.userId},${f.hostId},${f.moduleId},${f.pathId ?? 'NULL'},${sqlString(f.row.jobid)},${f.row.userload ?? 'NULL'},${sqlString(f.row.extra)},${sqlString(f.row.cluster)})`;
  return `INSERT INTO module_loads (time, user_id, host_id, module_id, path_id, jobid, userload, extra, cluster) VALUES ${facts.map(tuple).join(',')} ON DUPLICATE KEY UPDATE time = time`;
}
