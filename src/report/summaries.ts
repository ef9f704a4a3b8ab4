import type { SqlClient } from '../db/client';
import { LATEST_VERSION } from '../db/migrate';
import { readSummaryState } from './summary-store';
import type { Every, Filters, ModuleSort, Query, UserSort } from './queries';

/**
 * The whole-table reports as `lmod-load summarize` stored them (migration 004), read instead of the loads when nothing
 * was loaded since and the report has no filter but --userload-only: a few thousand rows instead of every load. The
 * orders are the raw queries' orders, on the same columns, so both give the same rows in the same order.
 */

/** Which stored variant serves these filters, or null when they need the loads themselves. */
export function summaryVariant(f: Filters): number | null {
  const lists = [f.users, f.hosts, f.modules, f.clusters, f.accounts, f.partitions];
  const filtered = f.since !== null || f.until !== null || lists.some((list) => list.length > 0);
  return filtered ? null : f.userloadOnly ? 1 : 0;
}

/**
 * Whether the stored summaries hold every committed load: their generation is the loads' one, and the schema is this
 * version's (an older one lacks their newer columns).
 */
export async function summariesCurrent(client: Pick<SqlClient, 'query'>): Promise<boolean> {
  try {
    const [schema] = await client.query<{ v: unknown }>('SELECT MAX(version) AS v FROM lmod_schema');
    if (Number(schema?.v) < LATEST_VERSION) return false;
    const state = await readSummaryState(client);
    return state.loads > 0 && state.loads === state.summaries;
  } catch (err) {
    // A schema from before version 4 has no summaries.
    if (/no such table|doesn't exist/i.test((err as Error).message)) return false;
    throw err;
  }
}

const limit = (top: number | null): string => (top === null ? '' : ` LIMIT ${top}`);

export function packagesSummaryQuery(variant: number, sort: ModuleSort, top: number | null): Query {
  const order = sort === 'users' ? 'users DESC, loads DESC' : 'loads DESC, users DESC';
  return {
    sql: `SELECT name, versions, jobs, core_hours, gpu_hours, loads, users, hosts, first_load, last_load FROM summary_packages WHERE userload_only = ? ORDER BY ${order}, name${limit(top)}`,
    params: [variant],
  };
}

export function versionsSummaryQuery(variant: number, sort: ModuleSort, top: number | null): Query {
  const order = sort === 'users' ? 'users DESC, loads DESC' : 'loads DESC, users DESC';
  return {
    sql: `SELECT module, name, version, jobs, core_hours, gpu_hours, loads, users, hosts, first_load, last_load FROM summary_versions WHERE userload_only = ? ORDER BY ${order}, module${limit(top)}`,
    params: [variant],
  };
}

export function usersSummaryQuery(variant: number, sort: UserSort, top: number | null): Query {
  const order = sort === 'loads' ? 'loads DESC, modules DESC' : 'modules DESC, loads DESC';
  return {
    sql: `SELECT user, loads, modules, first_load, last_load FROM summary_users WHERE userload_only = ? ORDER BY ${order}, user${limit(top)}`,
    params: [variant],
  };
}

export function staleSummaryQuery(variant: number, cutoff: string, top: number | null): Query {
  return {
    sql:
      'SELECT module, name, version, loads, users, first_load, last_load FROM summary_versions ' +
      `WHERE userload_only = ? AND last_load < ? ORDER BY last_load, module${limit(top)}`,
    params: [variant, cutoff],
  };
}

export function periodsSummaryQuery(variant: number, every: Every): Query {
  return {
    sql: 'SELECT period, loads, users FROM summary_periods WHERE userload_only = ? AND every = ? ORDER BY period',
    params: [variant, every],
  };
}

/** In accountRows' order: core-hours, then jobs, then the account's name in code-point order (binary collation). */
export function accountsSummaryQuery(variant: number): Query {
  return {
    sql: 'SELECT account, jobs, core_hours, gpu_hours, users, top_modules FROM summary_accounts WHERE userload_only = ? ORDER BY core_hours DESC, jobs DESC, account',
    params: [variant],
  };
}

export function packagePeriodsSummaryQuery(variant: number, every: Every): Query {
  return {
    sql: 'SELECT name, period, loads FROM summary_package_periods WHERE userload_only = ? AND every = ? ORDER BY name, period',
    params: [variant, every],
  };
}
