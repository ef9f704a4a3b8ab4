import { SqlClient, SqliteClient } from '../db/client';
import type { NewLoad } from '../db/pending-loads';
import { PairTable } from './pair-table';

/**
 * The distinct pairs behind the summaries' distinct counts (migration 005's summary_pairs):
 * users and hosts per version and per package, and (from the version pairs) modules per user.
 * A package is identified by the smallest id of its versions, which a new version cannot
 * change (ids only grow). Hosts leave out the "no host" row, as the reports do.
 */
export const MODULE_USER = 1;
export const MODULE_HOST = 2;
export const PACKAGE_USER = 3;
export const PACKAGE_HOST = 4;
export const KINDS = [MODULE_USER, MODULE_HOST, PACKAGE_USER, PACKAGE_HOST] as const;

/** The variants (summary_*.userload_only) as flags: every load is in ALL_LOADS, a user load in USER_LOADS too. */
export const ALL_LOADS = 1;
export const USER_LOADS = 2;

export function variantFlags(userload: 0 | 1 | null): number {
  return userload === 1 ? ALL_LOADS | USER_LOADS : ALL_LOADS;
}

/** The smallest module id per package name, for every module id. */
export function packageIds(modules: { id: number; name: string }[]): Map<number, number> {
  const first = new Map<string, number>();
  for (const m of modules) first.set(m.name, Math.min(m.id, first.get(m.name) ?? Infinity));
  return new Map(modules.map((m) => [m.id, first.get(m.name)!]));
}

/** One PairTable per kind, marked load by load. */
export class SummaryPairs {
  readonly tables = new Map<number, PairTable>(KINDS.map((k) => [k, new PairTable(1 << 12)]));
  /** Per kind (index kind - 1), the variant flags the last marked load was the first to give its pair. */
  readonly added = [0, 0, 0, 0];

  constructor(
    private readonly packageOf: Map<number, number>,
    private readonly blankHostId: number | null,
  ) {}

  /** Marks a load's pairs with its variants; `added` then says which were new. */
  mark(moduleId: number, userId: number, hostId: number, flags: number): void {
    const pkg = this.packageOf.get(moduleId);
    const host = hostId !== this.blankHostId;
    this.added[0] = this.markPair(MODULE_USER, moduleId, userId, flags);
    this.added[1] = host ? this.markPair(MODULE_HOST, moduleId, hostId, flags) : 0;
    this.added[2] = pkg !== undefined ? this.markPair(PACKAGE_USER, pkg, userId, flags) : 0;
    this.added[3] = pkg !== undefined && host ? this.markPair(PACKAGE_HOST, pkg, hostId, flags) : 0;
  }

  private markPair(kind: number, a: number, b: number, flags: number): number {
    return flags & ~this.tables.get(kind)!.mark(a, b, flags);
  }

  get size(): number {
    let n = 0;
    for (const t of this.tables.values()) n += t.size;
    return n;
  }
}

/** Integer tuples per statement: the values are ids, written as literals. */
const TUPLES_PER_STATEMENT = 20_000;

/** Each kind's pairs in key order (the primary key's, so inserts append), in chunks of tuples. */
function* tupleChunks(tables: Map<number, PairTable>, withFlags: boolean): Generator<number[][]> {
  let chunk: number[][] = [];
  for (const [kind, table] of tables) {
    const { a, b, flags } = table.sorted();
    for (let i = 0; i < a.length; i++) {
      chunk.push(withFlags ? [kind, a[i], b[i], flags[i]] : [kind, a[i], b[i]]);
      if (chunk.length === TUPLES_PER_STATEMENT) {
        yield chunk;
        chunk = [];
      }
    }
  }
  if (chunk.length > 0) yield chunk;
}

const literalTuples = (rows: number[][]): string => rows.map((r) => `(${r.join(',')})`).join(',');

/** Writes the pairs, replacing the flags of pairs already stored. */
export async function upsertPairs(tx: SqlClient, tables: Map<number, PairTable>): Promise<void> {
  if (tx instanceof SqliteClient) {
    const insert = tx.db.prepare('INSERT INTO summary_pairs (kind, a, b, flags) VALUES (?, ?, ?, ?) ON CONFLICT (kind, a, b) DO UPDATE SET flags = excluded.flags');
    for (const chunk of tupleChunks(tables, true)) for (const r of chunk) insert.run(r[0], r[1], r[2], r[3]);
    return;
  }
  for (const chunk of tupleChunks(tables, true)) {
    await tx.run(`INSERT INTO summary_pairs (kind, a, b, flags) VALUES ${literalTuples(chunk)} ON DUPLICATE KEY UPDATE flags = VALUES(flags)`);
  }
}

/**
 * The stored flags of the pairs these loads touch: the pairs go into a temporary table that is
 * joined to summary_pairs (one statement, where a lookup per pair would be thousands).
 */
export async function storedPairs(tx: SqlClient, touched: Map<number, PairTable>): Promise<Map<number, PairTable>> {
  // MySQL commits the transaction at a DROP TABLE, but not at a DROP TEMPORARY TABLE.
  const [create, drop] = tx.dialect === 'mysql' ? ['CREATE TEMPORARY TABLE', 'DROP TEMPORARY TABLE'] : ['CREATE TEMP TABLE', 'DROP TABLE'];
  await tx.run(`${drop} IF EXISTS lmod_touched_pairs`);
  await tx.run(`${create} lmod_touched_pairs (kind INTEGER NOT NULL, a INTEGER NOT NULL, b INTEGER NOT NULL, PRIMARY KEY (kind, a, b))`);
  for (const chunk of tupleChunks(touched, false)) await tx.run(`INSERT INTO lmod_touched_pairs (kind, a, b) VALUES ${literalTuples(chunk)}`);
  // Both planners, left alone, read all of summary_pairs (0.7 s at 3 million pairs): the join order
  // is forced so that each touched pair is one probe of its primary key.
  const join = tx.dialect === 'mysql' ? 'STRAIGHT_JOIN' : 'CROSS JOIN';
  const rows = await tx.query<{ kind: unknown; a: unknown; b: unknown; flags: unknown }>(
    `SELECT p.kind, p.a, p.b, p.flags FROM lmod_touched_pairs t ${join} summary_pairs p ON p.kind = t.kind AND p.a = t.a AND p.b = t.b`,
  );
  await tx.run(`${drop} lmod_touched_pairs`);
  const stored = new Map<number, PairTable>(KINDS.map((k) => [k, new PairTable()]));
  for (const r of rows) stored.get(Number(r.kind))!.mark(Number(r.a), Number(r.b), Number(r.flags));
  return stored;
}

/** The pairs of every load, streamed once (`lmod-load summarize`). */
export async function collectPairs(client: SqlClient, pairs: SummaryPairs): Promise<void> {
  await client.eachRow('SELECT module_id, user_id, host_id, userload FROM module_loads', [], (r) =>
    pairs.mark(r[0] as number, r[1] as number, r[2] as number, variantFlags(r[3] as 0 | 1 | null)),
  );
}

/** The pairs of new loads, with their variants. */
export function touchedPairs(loads: NewLoad[], packageOf: Map<number, number>, blankHostId: number | null): Map<number, PairTable> {
  const pairs = new SummaryPairs(packageOf, blankHostId);
  for (const l of loads) pairs.mark(l.moduleId, l.userId, l.hostId, variantFlags(l.userload));
  return pairs.tables;
}
