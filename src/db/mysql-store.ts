import { escape } from 'mysql2';
import type { LoadRow } from '../load/validate';
import type { MysqlClient } from './client';
import { DIMENSIONS, Dimension, IdCache } from './dimensions';
import { BatchResult, LoadStore, compareIdentity } from './store';

/** Names looked up per SELECT ... IN (...): well under MariaDB's IN-to-subquery threshold. */
const LOOKUP_CHUNK = 500;
/** Statements stay well under the 16 MiB max_allowed_packet default even when the server allows more. */
const STATEMENT_BYTES_CAP = 8 * 1024 * 1024;

interface Fact {
  time: string;
  userId: number;
  hostId: number;
  moduleId: number;
  row: LoadRow;
  pathId: number | null;
}

/**
 * Loads batches with one multi-row INSERT each (a single statement is its own transaction).
 * Identity collisions are no-op updates, not INSERT IGNORE, so a value the server would
 * truncate is still an error; without FOUND_ROWS, affectedRows is then exactly the new rows.
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
  ) {}

  static async open(client: MysqlClient, maxInFlight: number): Promise<MysqlStore> {
    const [row] = await client.query<{ packet: number }>('SELECT @@max_allowed_packet AS packet');
    const bytes = Math.min(STATEMENT_BYTES_CAP, Math.floor(Number(row.packet) / 2));
    return new MysqlStore(client, bytes, maxInFlight);
  }

  async loadBatch(rows: LoadRow[]): Promise<BatchResult> {
    const turn = this.dimensionTurn.then(() => this.resolveIds(rows));
    this.dimensionTurn = turn.catch(() => undefined);
    await turn;
    const facts = rows.map((row) => this.fact(row)).sort(compareIdentity);
    const inserted = await this.client.run(insertFacts(facts));
    return { inserted, present: rows.length - inserted };
  }

  private fact(row: LoadRow): Fact {
    const id = (d: Dimension, key: string): number => this.caches.get(d)!.get(key)!;
    const [users, hosts, modules, paths] = DIMENSIONS;
    return {
      time: row.time,
      userId: id(users, row.user),
      hostId: id(hosts, row.host),
      moduleId: id(modules, row.module),
      pathId: row.path === null ? null : id(paths, row.path),
      row,
    };
  }

  private async resolveIds(rows: LoadRow[]): Promise<void> {
    for (const dimension of DIMENSIONS) {
      const cache = this.caches.get(dimension)!;
      let missing = cache.missing(dimension, rows);
      // Select first and insert only what is missing, so reloads burn no AUTO_INCREMENT ids;
      // a name another loader inserted meanwhile is a duplicate key: select again.
      for (let attempt = 0; missing.length > 0; attempt++) {
        await this.selectIds(dimension, cache, missing);
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

  private async selectIds(dimension: Dimension, cache: IdCache, keys: string[]): Promise<void> {
    for (let i = 0; i < keys.length; i += LOOKUP_CHUNK) {
      const found = await this.client.query<{ id: number; k: string }>(
        `SELECT id, ${dimension.key} AS k FROM ${dimension.table} WHERE ${dimension.key} IN (?)`,
        [keys.slice(i, i + LOOKUP_CHUNK)],
      );
      for (const { id, k } of found) cache.set(k, id);
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
      const tuple = `(${dimension.values(key).map((v) => escape(v)).join(',')})`;
      if (bytes + tuple.length * 3 > this.maxBatchBytes) await flush();
      tuples.push(tuple);
      bytes += tuple.length * 3 + 1;
    }
    await flush();
  }
}

/** The batch as one statement. `time` is validated text and ids are integers: only the free text is escaped. */
function insertFacts(facts: Fact[]): string {
  const tuples = facts.map(
    (f) =>
      `('${f.time}',${f.userId},${f.hostId},${f.moduleId},${f.pathId ?? 'NULL'},` +
      `${f.row.jobid === null ? 'NULL' : escape(f.row.jobid)},${f.row.userload ?? 'NULL'},${f.row.extra === null ? 'NULL' : escape(f.row.extra)})`,
  );
  return (
    'INSERT INTO module_loads (time, user_id, host_id, module_id, path_id, jobid, userload, extra) VALUES ' +
    tuples.join(',') +
    ' ON DUPLICATE KEY UPDATE time = time'
  );
}
