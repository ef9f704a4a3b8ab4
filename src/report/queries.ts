/**
 * The SQL of every report, for both dialects. The queries read `module_loads` by its integer ids through the narrow
 * indexes (never the wide rows, except for --userload-only) and join the small name tables to the few result rows
 * afterwards, or, per package, walk the modules in name order so the loads arrive already grouped. Times come back as
 * the stored text 'YYYY-MM-DD HH:MM:SS.ffffff' (mysql2 runs with dateStrings; SQLite stores text).
 */
export interface Filters {
  /** Stored-time text; `time >= since`. */
  since: string | null;
  /** Stored-time text; `time < until` (exclusive, so `--since 2024-01-01 --until 2024-02-01` is January). */
  until: string | null;
  /** Globs on the user name; any may match. */
  users: string[];
  hosts: string[];
  /** Globs on the full module name or the package name. */
  modules: string[];
  userloadOnly: boolean;
  /** Exact names; any may match. A load's cluster is its own; account and partition are its job's. */
  clusters: string[];
  accounts: string[];
  partitions: string[];
}

export const NO_FILTERS: Filters = {
  since: null,
  until: null,
  users: [],
  hosts: [],
  modules: [],
  userloadOnly: false,
  clusters: [],
  accounts: [],
  partitions: [],
};

export interface Query {
  sql: string;
  params: (string | number)[];
}

/**
 * The filters with the name globs looked up in the small name tables: the big table is then filtered by integer ids,
 * which both planners turn into index ranges (a subquery on the names left MariaDB joining every load to its host row).
 */
export interface IdFilters {
  since: string | null;
  until: string | null;
  /** null: no filter; [] matches nothing. */
  userIds: number[] | null;
  hostIds: number[] | null;
  moduleIds: number[] | null;
  userloadOnly: boolean;
  clusters: string[];
  accounts: string[];
  partitions: string[];
}

/**
 * A load's job: the same job id on the same cluster, an unknown cluster on either side matching any (a single-cluster
 * site need not name it). A load without a cluster in a database of several clusters may so match several jobs.
 */
export const JOB_OF_LOAD = "j.jobid = l.jobid AND (l.cluster IS NULL OR j.cluster = '' OR j.cluster = l.cluster)";

const placeholders = (values: string[]): string => values.map(() => '?').join(', ');

/** A load whose job id is one of the jobs the conditions choose (on any cluster). */
export const jobIdsIn = (job: Query): string => `l.jobid IN (SELECT j.jobid FROM jobs j WHERE ${job.sql})`;

/** The conditions on a job `j` of --account and --partition. */
export function jobConditions(f: Pick<IdFilters, 'accounts' | 'partitions'>): Query {
  const parts: string[] = [];
  if (f.accounts.length > 0) parts.push(`j.account IN (${placeholders(f.accounts)})`);
  if (f.partitions.length > 0) parts.push(`j.partition_name IN (${placeholders(f.partitions)})`);
  return { sql: parts.join(' AND '), params: [...f.accounts, ...f.partitions] };
}

export type NameTable = 'users' | 'hosts' | 'modules';

/** `WHERE ...` on `module_loads l` for the filters ('' when there are none). Ids are integers from the database. */
export function whereClause(f: IdFilters, extra: string[] = []): Query {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  if (f.since !== null) {
    parts.push('l.time >= ?');
    params.push(f.since);
  }
  if (f.until !== null) {
    parts.push('l.time < ?');
    params.push(f.until);
  }
  for (const [ids, column] of [
    [f.userIds, 'l.user_id'],
    [f.hostIds, 'l.host_id'],
    [f.moduleIds, 'l.module_id'],
  ] as const) {
    if (ids === null) continue;
    parts.push(ids.length === 0 ? '1 = 0' : `${column} IN (${ids.map((id) => Math.trunc(id)).join(', ')})`);
  }
  if (f.userloadOnly) parts.push('l.userload = 1');
  if (f.clusters.length > 0) {
    parts.push(`l.cluster IN (${placeholders(f.clusters)})`);
    params.push(...f.clusters);
  }
  const job = jobConditions(f);
  if (job.sql !== '') {
    // The IN list is a cheap semi-join on the job id alone (a hash or Bloom filter), so the EXISTS, which applies the
    // cluster rule, runs only for the loads of the jobs chosen.
    parts.push(jobIdsIn(job), `EXISTS (SELECT 1 FROM jobs j WHERE ${JOB_OF_LOAD} AND ${job.sql})`);
    params.push(...job.params, ...job.params);
  }
  parts.push(...extra);
  return { sql: parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`, params };
}

/** Distinct hosts, leaving out the row that stands for "no host" (name ''), which the loader stores for records without one: unknown is not a host. */
function hostCount(blankHostId: number | null): string {
  return blankHostId === null ? 'COUNT(DISTINCT l.host_id)' : `COUNT(DISTINCT CASE WHEN l.host_id <> ${blankHostId} THEN l.host_id END)`;
}

function limit(top: number | null): string {
  return top === null ? '' : ` LIMIT ${top}`;
}

export type ModuleSort = 'users' | 'loads';

export interface ModulesOptions {
  by: 'name' | 'version';
  sort: ModuleSort;
  top: number | null;
  blankHostId: number | null;
}

/** `modules`: loads, distinct users and hosts, first and last load per package or per full name. */
export function modulesQuery(f: IdFilters, o: ModulesOptions): Query {
  const where = whereClause(f);
  const order = o.sort === 'users' ? 'users DESC, loads DESC' : 'loads DESC, users DESC';
  if (o.by === 'version') {
    return {
      sql:
        'SELECT m.module, m.name, m.version, a.loads, a.users, a.hosts, a.first_load, a.last_load FROM ' +
        `(SELECT l.module_id, COUNT(*) AS loads, COUNT(DISTINCT l.user_id) AS users, ${hostCount(o.blankHostId)} AS hosts, ` +
        `MIN(l.time) AS first_load, MAX(l.time) AS last_load FROM module_loads l ${where.sql} GROUP BY l.module_id) a ` +
        `JOIN modules m ON m.id = a.module_id ORDER BY ${order}, m.module${limit(o.top)}`,
      params: where.params,
    };
  }
  // Modules first (SQLite takes CROSS JOIN as that order; MariaDB picks it anyway): the loads come grouped by name
  // through ix_loads_module, with no temporary B-tree over all of them.
  return {
    sql:
      `SELECT m.name, COUNT(DISTINCT l.module_id) AS versions, COUNT(*) AS loads, COUNT(DISTINCT l.user_id) AS users, ` +
      `${hostCount(o.blankHostId)} AS hosts, MIN(l.time) AS first_load, MAX(l.time) AS last_load ` +
      `FROM modules m CROSS JOIN module_loads l ON l.module_id = m.id ${where.sql} GROUP BY m.name ORDER BY ${order}, m.name${limit(o.top)}`,
    params: where.params,
  };
}

/** The loads under the filters as bare ids and times, for counting them in the client (module-counts.ts). */
export function moduleLoadsQuery(f: IdFilters): Query {
  const where = whereClause(f);
  return { sql: `SELECT l.module_id, l.user_id, l.host_id, l.time FROM module_loads l ${where.sql}`, params: where.params };
}

export type UserSort = 'loads' | 'modules';

/** `users`: loads, distinct modules, first and last load per user. */
export function usersQuery(f: IdFilters, sort: UserSort, top: number | null): Query {
  const where = whereClause(f);
  const order = sort === 'loads' ? 'a.loads DESC, a.modules DESC' : 'a.modules DESC, a.loads DESC';
  return {
    sql:
      'SELECT u.name AS user, a.loads, a.modules, a.first_load, a.last_load FROM ' +
      `(SELECT l.user_id, COUNT(*) AS loads, COUNT(DISTINCT l.module_id) AS modules, MIN(l.time) AS first_load, MAX(l.time) AS last_load ` +
      `FROM module_loads l ${where.sql} GROUP BY l.user_id) a JOIN users u ON u.id = a.user_id ORDER BY ${order}, u.name${limit(top)}`,
    params: where.params,
  };
}

/** `users --user GLOB`: the modules each matching user loaded (analyzeLmodDB's modules_used_by). */
export function userModulesQuery(f: IdFilters, top: number | null): Query {
  const where = whereClause(f);
  return {
    sql:
      'SELECT u.name AS user, m.module, a.loads, a.first_load, a.last_load FROM ' +
      `(SELECT l.user_id, l.module_id, COUNT(*) AS loads, MIN(l.time) AS first_load, MAX(l.time) AS last_load ` +
      `FROM module_loads l ${where.sql} GROUP BY l.user_id, l.module_id) a ` +
      `JOIN users u ON u.id = a.user_id JOIN modules m ON m.id = a.module_id ORDER BY u.name, a.loads DESC, m.module${limit(top)}`,
    params: where.params,
  };
}

/**
 * The full names with at least one load that passes the filters: per module, its latest load before --until (that passes
 * the other filters) is at or after --since. One probe at the end of the module's part of `ix_loads_module` (module_id,
 * time), read backwards: EXISTS with the time range read each module's loads from its first one instead.
 */
export function loadedModulesQuery(f: IdFilters): Query {
  const where = whereClause({ ...f, since: null }, ['l.module_id = m.id']);
  const latest = `(SELECT l.time FROM module_loads l ${where.sql} ORDER BY l.time DESC LIMIT 1)`;
  return f.since === null
    ? { sql: `SELECT m.module FROM modules m WHERE ${latest} IS NOT NULL`, params: where.params }
    : { sql: `SELECT m.module FROM modules m WHERE ${latest} >= ?`, params: [...where.params, f.since] };
}

/** Every known full name with its last load ever (null when the loads were deleted). */
export function lastLoadsQuery(): Query {
  return {
    // ORDER BY ... LIMIT 1, not MAX(): MariaDB reads a module's every entry for MAX in a correlated subquery.
    sql: 'SELECT m.module, (SELECT l.time FROM module_loads l WHERE l.module_id = m.id ORDER BY l.time DESC LIMIT 1) AS last_load FROM modules m',
    params: [],
  };
}

/** `stale`: full names whose last load (under the filters) is before `cutoff`, oldest first. */
export function staleQuery(f: IdFilters, cutoff: string, top: number | null): Query {
  const where = whereClause(f);
  return {
    sql:
      'SELECT m.module, m.name, m.version, a.loads, a.users, a.first_load, a.last_load FROM ' +
      `(SELECT l.module_id, COUNT(*) AS loads, COUNT(DISTINCT l.user_id) AS users, MIN(l.time) AS first_load, MAX(l.time) AS last_load ` +
      `FROM module_loads l ${where.sql} GROUP BY l.module_id HAVING MAX(l.time) < ?) a ` +
      `JOIN modules m ON m.id = a.module_id ORDER BY a.last_load, m.module${limit(top)}`,
    params: [...where.params, cutoff],
  };
}

/** trend's period length; weeks start on Monday (ISO 8601). */
export type Every = 'day' | 'week' | 'month';

export const EVERY: readonly Every[] = ['day', 'week', 'month'];

/**
 * The first and last load under the filters (both null when there is none), each its own ordered probe: SQLite reads the
 * whole table for MIN and MAX in one SELECT, and uses the time-ordered key for each alone.
 */
export function spanQuery(f: IdFilters): Query {
  const where = whereClause(f);
  const end = (order: 'ASC' | 'DESC'): string => `(SELECT l.time FROM module_loads l ${where.sql} ORDER BY l.time ${order} LIMIT 1)`;
  return { sql: `SELECT ${end('ASC')} AS first, ${end('DESC')} AS last`, params: [...where.params, ...where.params] };
}

/** Loads and distinct users in one time range (the filters' since/until are the range). */
export function rangeCountsQuery(f: IdFilters): Query {
  const where = whereClause(f);
  return { sql: `SELECT COUNT(*) AS loads, COUNT(DISTINCT l.user_id) AS users FROM module_loads l ${where.sql}`, params: where.params };
}

/** Loads per full name in one time range (the filters' since/until are the range): one period of the packages' trends. */
export function rangeModuleCountsQuery(f: IdFilters): Query {
  const where = whereClause(f);
  return { sql: `SELECT l.module_id, COUNT(*) AS loads FROM module_loads l ${where.sql} GROUP BY l.module_id`, params: where.params };
}
