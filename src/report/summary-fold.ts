import { inTransaction, SqlClient } from '../db/client';
import { decodeNewLoads, NewLoad } from '../db/pending-loads';
import type { ModuleName } from './module-counts';
import { PairTable } from './pair-table';
import { Every, EVERY, NO_FILTERS } from './queries';
import { blankHostId, moduleNames, nextPeriod, periodCounts, periodOf, resolveFilters } from './reports';
import { ALL_LOADS, KINDS, packageIds, storedPairs, SummaryPairs, touchedPairs, updatePairs, USER_LOADS, variantFlags } from './summary-pairs';
import { lockSummaryState, recordSummaryState, SUMMARY_COLUMNS, SummaryTableName, writeSummaryRows } from './summary-store';

/**
 * The incremental summarize: the rows the loaders recorded in summary_pending since the last
 * summarize are added to the stored summaries, with the stored pairs telling which user or
 * host is new to a module, package or user. Only when every load transaction since then
 * recorded its rows (else the full summarize is needed), in one transaction that sees the
 * loads as of the generation it folds up to.
 */

type Span = { loads: number; first_load: string; last_load: string };
type VersionSummary = Span & { module: string; name: string; version: string | null; users: number; hosts: number };
type PackageSummary = Span & { name: string; versions: number; users: number; hosts: number };
type UserSummary = Span & { user: string; modules: number };

/** One variant's stored rows, keyed by their primary keys after userload_only. */
export interface VariantSummaries {
  versions: Map<string, VersionSummary>;
  packages: Map<string, PackageSummary>;
  users: Map<string, UserSummary>;
}

export interface FoldNames {
  modules: Map<number, ModuleName>;
  users: Map<number, string>;
  packageOf: Map<number, number>;
  blankHostId: number | null;
}

export interface Folded {
  /** Per variant, the keys of the rows changed. */
  changed: { versions: Set<string>; packages: Set<string>; users: Set<string> }[];
  /** The pairs whose flags changed, with their new flags. */
  pairs: Map<number, PairTable>;
}

const VARIANT_BITS = [ALL_LOADS, USER_LOADS];

function widen(row: Span, time: string): void {
  row.loads++;
  if (time < row.first_load) row.first_load = time;
  if (time > row.last_load) row.last_load = time;
}

/**
 * Adds the loads to the summaries (changed in place). `stored` holds the stored flags of the
 * pairs the loads touch; a pair's variant counts once, the first time it is set.
 */
export function foldLoads(summaries: VariantSummaries[], loads: NewLoad[], names: FoldNames, stored: Map<number, PairTable>): Folded {
  const seen = new SummaryPairs(names.packageOf, names.blankHostId);
  for (const [kind, table] of stored) table.forEach((a, b, flags) => seen.tables.get(kind)!.mark(a, b, flags));
  const changed = VARIANT_BITS.map(() => ({ versions: new Set<string>(), packages: new Set<string>(), users: new Set<string>() }));
  for (const l of loads) {
    const flags = variantFlags(l.userload);
    seen.mark(l.moduleId, l.userId, l.hostId, flags);
    const [moduleUser, moduleHost, packageUser, packageHost] = seen.added;
    const m = names.modules.get(l.moduleId);
    const user = names.users.get(l.userId);
    for (let v = 0; v < VARIANT_BITS.length; v++) {
      const bit = VARIANT_BITS[v];
      if ((flags & bit) === 0) continue;
      const into = summaries[v];
      const zero = { loads: 0, first_load: l.time, last_load: l.time };
      if (m !== undefined) {
        let version = into.versions.get(m.module);
        const firstOfVersion = version === undefined;
        if (version === undefined) into.versions.set(m.module, (version = { module: m.module, name: m.name, version: m.version, users: 0, hosts: 0, ...zero }));
        widen(version, l.time);
        if (moduleUser & bit) version.users++;
        if (moduleHost & bit) version.hosts++;
        let pkg = into.packages.get(m.name);
        if (pkg === undefined) into.packages.set(m.name, (pkg = { name: m.name, versions: 0, users: 0, hosts: 0, ...zero }));
        widen(pkg, l.time);
        if (firstOfVersion) pkg.versions++;
        if (packageUser & bit) pkg.users++;
        if (packageHost & bit) pkg.hosts++;
        changed[v].versions.add(m.module);
        changed[v].packages.add(m.name);
      }
      if (user !== undefined) {
        let u = into.users.get(user);
        if (u === undefined) into.users.set(user, (u = { user, modules: 0, ...zero }));
        widen(u, l.time);
        if (moduleUser & bit) u.modules++;
        changed[v].users.add(user);
      }
    }
  }
  const pairs = new Map<number, PairTable>(KINDS.map((k) => [k, new PairTable()]));
  for (const [kind, table] of seen.tables) {
    const before = stored.get(kind)!;
    table.forEach((a, b, flags) => flags !== before.get(a, b) && pairs.get(kind)!.mark(a, b, flags));
  }
  return { changed, pairs };
}

/** `reason` is null when there is nothing to add loads to: the summaries were never stored with their pairs. */
export type FoldOutcome = { folded: true; loads: number } | { folded: false; reason: string | null };

type Row = Record<string, unknown>;

/**
 * Pending rows are read and added in slices of about this many bytes of their text (some 90,000
 * loads), so that a large backfill into kept summaries needs no more memory than a daily load.
 */
export const SLICE_BYTES = 4 << 20;

/** Folds the pending loads into the summaries, or says why it cannot (then nothing is written). */
export async function foldPending(client: SqlClient, sliceBytes = SLICE_BYTES): Promise<FoldOutcome> {
  return inTransaction(
    client,
    async (tx): Promise<FoldOutcome> => {
      const state = await lockSummaryState(tx);
      if (state.pairs === 0 || state.pairs !== state.summaries) return { folded: false, reason: null };
      if (state.summaries === state.loads) return { folded: true, loads: 0 };
      const pending = await tx.query<{ generation: unknown; bytes: unknown }>(
        'SELECT generation, LENGTH(loads) AS bytes FROM summary_pending WHERE generation > ? AND generation <= ? ORDER BY generation',
        [state.summaries, state.loads],
      );
      const missing = state.loads - state.summaries - pending.filter((p) => p.bytes !== null).length;
      if (missing > 0) {
        return { folded: false, reason: `${missing} of the ${state.loads - state.summaries} load transactions since the last summarize did not record their rows` };
      }
      const fold = await SummaryFold.begin(tx);
      let loads = 0;
      for (let at = 0; at < pending.length; ) {
        let end = at;
        for (let bytes = 0; end < pending.length && (end === at || bytes < sliceBytes); end++) bytes += Number(pending[end].bytes);
        const rows = await tx.query<{ loads: string }>('SELECT loads FROM summary_pending WHERE generation >= ? AND generation <= ? ORDER BY generation', [
          Number(pending[at].generation),
          Number(pending[end - 1].generation),
        ]);
        const slice = rows.flatMap((r) => decodeNewLoads(r.loads));
        await fold.add(slice);
        loads += slice.length;
        at = end;
      }
      await fold.finish();
      await recordSummaryState(tx, state.loads, state.loads, state.loads);
      return { folded: true, loads };
    },
    (outcome) => outcome.folded,
  );
}

/** One fold in one transaction: the stored summaries in memory, the pairs read and written per slice of new loads. */
class SummaryFold {
  private readonly changed = VARIANT_BITS.map(() => ({ versions: new Set<string>(), packages: new Set<string>(), users: new Set<string>() }));
  /** Per variant and period length, the periods the new loads fall in. */
  private readonly periods = VARIANT_BITS.map(() => new Map<Every, Set<string>>(EVERY.map((e) => [e, new Set()])));

  private constructor(
    private readonly tx: SqlClient,
    private readonly names: FoldNames,
    private readonly summaries: VariantSummaries[],
  ) {}

  static async begin(tx: SqlClient): Promise<SummaryFold> {
    const modules = await moduleNames(tx);
    const names: FoldNames = {
      modules: new Map(modules.map((m) => [m.id, m])),
      users: new Map((await tx.query<Row>('SELECT id, name FROM users')).map((r) => [Number(r.id), String(r.name)])),
      packageOf: packageIds(modules),
      blankHostId: await blankHostId(tx),
    };
    return new SummaryFold(tx, names, await readSummaries(tx));
  }

  async add(loads: NewLoad[]): Promise<void> {
    const { names, tx } = this;
    const stored = await storedPairs(tx, touchedPairs(loads, names.packageOf, names.blankHostId));
    const { changed, pairs } = foldLoads(this.summaries, loads, names, stored.flags);
    changed.forEach((c, v) => {
      for (const of of ['versions', 'packages', 'users'] as const) for (const key of c[of]) this.changed[v][of].add(key);
    });
    await updatePairs(tx, pairs, stored);
    for (const l of loads) {
      const flags = variantFlags(l.userload);
      VARIANT_BITS.forEach((bit, v) => {
        if ((flags & bit) !== 0) for (const [every, touched] of this.periods[v]) touched.add(periodOf(l.time, every));
      });
    }
  }

  async finish(): Promise<void> {
    const write = (table: SummaryTableName, of: keyof VariantSummaries) =>
      writeSummaryRows(
        this.tx,
        'REPLACE',
        table,
        this.changed.flatMap((c, v) => [...c[of]].map((key) => [v, ...SUMMARY_COLUMNS[table].map((column) => (this.summaries[v][of].get(key) as Row)[column])])),
      );
    await write('summary_versions', 'versions');
    await write('summary_packages', 'packages');
    await write('summary_users', 'users');
    for (let v = 0; v < VARIANT_BITS.length; v++) for (const [every, touched] of this.periods[v]) await foldPeriods(this.tx, v, every, [...touched].sort());
  }
}

async function readSummaries(tx: SqlClient): Promise<VariantSummaries[]> {
  const summaries: VariantSummaries[] = VARIANT_BITS.map(() => ({ versions: new Map(), packages: new Map(), users: new Map() }));
  const span = (r: Row): Span => ({ loads: Number(r.loads), first_load: String(r.first_load), last_load: String(r.last_load) });
  for (const r of await tx.query<Row>('SELECT * FROM summary_versions')) {
    const version = r.version === null ? null : String(r.version);
    summaries[Number(r.userload_only)].versions.set(String(r.module), { module: String(r.module), name: String(r.name), version, users: Number(r.users), hosts: Number(r.hosts), ...span(r) });
  }
  for (const r of await tx.query<Row>('SELECT * FROM summary_packages')) {
    summaries[Number(r.userload_only)].packages.set(String(r.name), { name: String(r.name), versions: Number(r.versions), users: Number(r.users), hosts: Number(r.hosts), ...span(r) });
  }
  for (const r of await tx.query<Row>('SELECT * FROM summary_users')) {
    summaries[Number(r.userload_only)].users.set(String(r.user), { user: String(r.user), modules: Number(r.modules), ...span(r) });
  }
  return summaries;
}

/**
 * Periods the new loads fall in are counted again from the loads (a range of the time-ordered
 * key each, as trend does); periods between the stored ones and new ones get zero rows, as
 * trend lists every period from the first load to the last.
 */
async function foldPeriods(tx: SqlClient, v: number, every: Every, touched: string[]): Promise<void> {
  if (touched.length === 0) return;
  const ids = await resolveFilters(tx, { ...NO_FILTERS, userloadOnly: v === 1 });
  const [span] = await tx.query<{ first: unknown; last: unknown }>(
    'SELECT MIN(period) AS first, MAX(period) AS last FROM summary_periods WHERE userload_only = ? AND every = ?',
    [v, every],
  );
  const first = span.first === null ? null : String(span.first);
  const last = span.last === null ? null : String(span.last);
  const rows: unknown[][] = [];
  const from = first !== null && first < touched[0] ? first : touched[0];
  const to = last !== null && last > touched[touched.length - 1] ? last : touched[touched.length - 1];
  const isTouched = new Set(touched);
  for (let p = from; p <= to; p = nextPeriod(p, every)) {
    if (isTouched.has(p)) {
      const counts = await periodCounts(tx, ids, `${p} 00:00:00.000000`, `${nextPeriod(p, every)} 00:00:00.000000`);
      rows.push([v, every, p, counts.loads, counts.users]);
    } else if (first === null || p < first || p > last!) {
      rows.push([v, every, p, 0, 0]);
    }
  }
  await writeSummaryRows(tx, 'REPLACE', 'summary_periods', rows);
}
