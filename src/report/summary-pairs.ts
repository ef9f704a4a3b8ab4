import type { SqlClient } from '../db/client';
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

/**
 * One stored row per (kind, a): its members b in ascending order, each a varint of the gap to
 * the one before, doubled, plus 1 when a user load has the pair (every stored pair is in
 * ALL_LOADS). About a byte a pair: 2.9 million pairs at 5 million loads take 3 MB instead of
 * a 90 MB table of a row each, which pushed the loads out of MariaDB's default 128 MB buffer pool.
 */
export interface Members {
  b: number[];
  flags: number[];
}

export function encodeMembers(b: ArrayLike<number>, flags: ArrayLike<number>, from = 0, to = b.length): Buffer {
  const bytes: number[] = [];
  let previous = 0;
  for (let i = from; i < to; i++) {
    // Plain arithmetic, not bit operations: gap * 2 + 1 may pass 2^32.
    let v = (b[i] - previous) * 2 + ((flags[i] & USER_LOADS) !== 0 ? 1 : 0);
    previous = b[i];
    while (v >= 0x80) {
      bytes.push((v % 0x80) + 0x80);
      v = Math.floor(v / 0x80);
    }
    bytes.push(v);
  }
  return Buffer.from(bytes);
}

export function decodeMembers(bytes: Uint8Array): Members {
  const members: Members = { b: [], flags: [] };
  let previous = 0;
  for (let i = 0; i < bytes.length; ) {
    let v = 0;
    let scale = 1;
    let byte: number;
    do {
      byte = bytes[i++];
      v += (byte & 0x7f) * scale;
      scale *= 0x80;
    } while (byte >= 0x80);
    previous += Math.floor(v / 2);
    members.b.push(previous);
    members.flags.push(v % 2 === 1 ? ALL_LOADS | USER_LOADS : ALL_LOADS);
  }
  return members;
}

/** One (kind, a) of a table and its pairs: positions from..to of table.sorted()'s arrays. */
interface Run {
  kind: number;
  a: number;
  b: Uint32Array;
  flags: Uint32Array;
  from: number;
  to: number;
}

/** Each (kind, a) of the tables with its pairs in b order. */
function* runsOf(tables: Map<number, PairTable>): Generator<Run> {
  for (const [kind, table] of tables) {
    const { a, b, flags } = table.sorted();
    for (let from = 0; from < a.length; ) {
      let to = from + 1;
      while (to < a.length && a[to] === a[from]) to++;
      yield { kind, a: a[from], b, flags, from, to };
      from = to;
    }
  }
}

/** Rows per statement, and their members' bytes (sent as hex to MySQL): well under any max_allowed_packet. */
const ROWS_PER_STATEMENT = 300;
const BYTES_PER_STATEMENT = 1 << 20;

async function writeRows(tx: SqlClient, verb: 'INSERT' | 'REPLACE', rows: [number, number, Buffer][]): Promise<void> {
  for (let at = 0; at < rows.length; ) {
    let end = at;
    for (let bytes = 0; end < rows.length && end - at < ROWS_PER_STATEMENT && (end === at || bytes + rows[end][2].length <= BYTES_PER_STATEMENT); end++) bytes += rows[end][2].length;
    const part = rows.slice(at, end);
    await tx.run(`${verb} INTO summary_pairs (kind, a, members) VALUES ${part.map(() => '(?, ?, ?)').join(', ')}`, part.flat());
    at = end;
  }
}

/** Stores every pair of the tables (into an empty summary_pairs). */
export async function storePairs(tx: SqlClient, tables: Map<number, PairTable>): Promise<void> {
  const rows: [number, number, Buffer][] = [];
  for (const r of runsOf(tables)) rows.push([r.kind, r.a, encodeMembers(r.b, r.flags, r.from, r.to)]);
  await writeRows(tx, 'INSERT', rows);
}

/**
 * The stored flags of the pairs the loads touch, and the stored rows they are in (packed: the
 * rows of every module and package at 5 million loads, decoded, would take 30 MB more).
 */
export interface StoredPairs {
  flags: Map<number, PairTable>;
  rows: Map<string, Uint8Array>;
}

const rowKey = (kind: number, a: number): string => `${kind}:${a}`;

/** Where b is in ascending `list`, or -1. */
function indexOf(list: number[], b: number): number {
  let lo = 0;
  let hi = list.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >> 1;
    if (list[mid] === b) return mid;
    if (list[mid] < b) lo = mid + 1;
    else hi = mid - 1;
  }
  return -1;
}

/** Ids per `a IN (...)`: well under MariaDB's IN-to-subquery threshold. */
const IDS_PER_LOOKUP = 500;

export async function storedPairs(tx: SqlClient, touched: Map<number, PairTable>): Promise<StoredPairs> {
  const stored: StoredPairs = { flags: new Map(KINDS.map((k) => [k, new PairTable()])), rows: new Map() };
  const runs = new Map<string, Run>();
  for (const run of runsOf(touched)) runs.set(rowKey(run.kind, run.a), run);
  for (const kind of touched.keys()) {
    const ids = [...runs.values()].filter((r) => r.kind === kind).map((r) => r.a);
    for (let at = 0; at < ids.length; at += IDS_PER_LOOKUP) {
      const part = ids.slice(at, at + IDS_PER_LOOKUP);
      const rows = await tx.query<{ a: unknown; members: Uint8Array }>(
        `SELECT a, members FROM summary_pairs WHERE kind = ? AND a IN (${part.map(() => '?').join(', ')})`,
        [kind, ...part],
      );
      for (const row of rows) {
        const key = rowKey(kind, Number(row.a));
        stored.rows.set(key, row.members);
        const members = decodeMembers(row.members);
        const run = runs.get(key)!;
        for (let i = run.from; i < run.to; i++) {
          const at = indexOf(members.b, run.b[i]);
          if (at >= 0) stored.flags.get(kind)!.mark(run.a, run.b[i], members.flags[at]);
        }
      }
    }
  }
  return stored;
}

/** Writes the changed pairs (with their new flags) into the stored rows they belong to. */
export async function updatePairs(tx: SqlClient, changed: Map<number, PairTable>, stored: StoredPairs): Promise<void> {
  const rows: [number, number, Buffer][] = [];
  for (const r of runsOf(changed)) {
    const packed = stored.rows.get(rowKey(r.kind, r.a));
    const old = packed === undefined ? { b: [], flags: [] } : decodeMembers(packed);
    const merged: Members = { b: [], flags: [] };
    let i = 0;
    let j = r.from;
    while (i < old.b.length || j < r.to) {
      const fromOld = j === r.to || (i < old.b.length && old.b[i] < r.b[j]);
      if (fromOld) {
        merged.b.push(old.b[i]);
        merged.flags.push(old.flags[i++]);
      } else {
        if (i < old.b.length && old.b[i] === r.b[j]) i++;
        merged.b.push(r.b[j]);
        merged.flags.push(r.flags[j++]);
      }
    }
    rows.push([r.kind, r.a, encodeMembers(merged.b, merged.flags)]);
  }
  await writeRows(tx, 'REPLACE', rows);
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
