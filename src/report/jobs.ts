import { type IdFilters, JOB_OF_LOAD, jobConditions, type Query, whereClause } from './queries';

/**
 * What Slurm's jobs add to the reports: per module, the distinct jobs it was loaded in and their core- and GPU-hours
 * (a job's elapsed seconds times its CPUs or GPUs), and per account its jobs and top modules. A module is credited each
 * job in full, so the modules' sum exceeds the jobs' total.
 */
/** The part of a database client these queries need. */
interface Client {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
}

export type Weight = 'jobs' | 'core-hours' | 'gpu-hours';
export const WEIGHTS: readonly Weight[] = ['jobs', 'core-hours', 'gpu-hours'];
export const WEIGHT_COLUMN: Record<Weight, 'jobs' | 'core_hours' | 'gpu_hours'> = { jobs: 'jobs', 'core-hours': 'core_hours', 'gpu-hours': 'gpu_hours' };

export interface Weights {
  jobs: number;
  core_hours: number;
  gpu_hours: number;
}

export const NO_WEIGHTS: Weights = { jobs: 0, core_hours: 0, gpu_hours: 0 };

/** Hours to 3 decimals (3.6 s): sums are taken in whole CPU- and GPU-seconds, so only the printing rounds. */
export const hours = (seconds: unknown): number => Math.round(Number(seconds) / 3.6) / 1000;

/** The loads' filters and the jobs' (--account, --partition) on a load `l` joined to its job `j`. */
function loadsInJobs(f: IdFilters): Query {
  const job = jobConditions(f);
  const where = whereClause({ ...f, accounts: [], partitions: [] }, ['l.jobid IS NOT NULL', ...(job.sql === '' ? [] : [job.sql])]);
  return {
    sql: `FROM module_loads l JOIN jobs j ON ${JOB_OF_LOAD} JOIN modules m ON m.id = l.module_id ${where.sql}`,
    params: [...where.params, ...job.params],
  };
}

/** Per package (or full name): distinct jobs, CPU- and GPU-seconds. The reference, and what summarize stores. */
export function weightsQuery(f: IdFilters, by: 'name' | 'version', perAccount = false): Query {
  const from = loadsInJobs(f);
  const key = by === 'name' ? 'm.name' : 'm.module';
  const account = perAccount ? "COALESCE(j.account, '') AS account, " : '';
  return {
    sql:
      `SELECT ${perAccount ? 'x.account, ' : ''}x.k AS k, COUNT(*) AS jobs, SUM(x.cpu_s) AS cpu_s, SUM(x.gpu_s) AS gpu_s FROM ` +
      `(SELECT DISTINCT ${account}${key} AS k, j.cluster, j.jobid, j.elapsed_s * j.cpus AS cpu_s, j.elapsed_s * j.gpus AS gpu_s ${from.sql}) x ` +
      `GROUP BY ${perAccount ? 'x.account, ' : ''}x.k`,
    params: from.params,
  };
}

/** Weights per package name (by 'name') or full module name (by 'version'). */
export async function moduleWeights(client: Client, f: IdFilters, by: 'name' | 'version'): Promise<Map<string, Weights>> {
  const q = weightsQuery(f, by);
  const rows = await client.query<Record<string, unknown>>(q.sql, q.params);
  return new Map(rows.map((r) => [String(r.k), { jobs: Number(r.jobs), core_hours: hours(r.cpu_s), gpu_hours: hours(r.gpu_s) }]));
}

/** Modules listed per account in `accounts`. */
const TOP_MODULES = 5;

/**
 * `accounts`: per account (of the jobs started in --since/--until, of --cluster, --partition and --account), its jobs,
 * core- and GPU-hours and users, and the modules its jobs spent the most core-hours with (loads under the other filters).
 */
export async function accountRows(client: Client, f: IdFilters): Promise<Record<string, string | number>[]> {
  const parts: string[] = [];
  const params: (string | number)[] = [];
  const job = jobConditions(f);
  if (job.sql !== '') parts.push(job.sql);
  params.push(...job.params);
  if (f.clusters.length > 0) {
    parts.push(`j.cluster IN (${f.clusters.map(() => '?').join(', ')})`);
    params.push(...f.clusters);
  }
  for (const [bound, op] of [
    [f.since, '>='],
    [f.until, '<'],
  ] as const) {
    if (bound === null) continue;
    parts.push(`j.start_time ${op} ?`);
    params.push(bound);
  }
  const where = parts.length === 0 ? '' : `WHERE ${parts.join(' AND ')}`;
  const totals = await client.query<Record<string, unknown>>(
    "SELECT COALESCE(j.account, '') AS account, COUNT(*) AS jobs, SUM(j.elapsed_s * j.cpus) AS cpu_s, SUM(j.elapsed_s * j.gpus) AS gpu_s, " +
      `COUNT(DISTINCT j.user) AS users FROM jobs j ${where} GROUP BY COALESCE(j.account, '')`,
    params,
  );
  const q = weightsQuery(f, 'name', true);
  const perModule = new Map<string, { name: string; cpu: number }[]>();
  for (const r of await client.query<Record<string, unknown>>(q.sql, q.params)) {
    const list = perModule.get(String(r.account)) ?? [];
    list.push({ name: String(r.k), cpu: Number(r.cpu_s) });
    perModule.set(String(r.account), list);
  }
  return totals
    .map((r) => {
      const top = (perModule.get(String(r.account)) ?? []).sort((a, b) => b.cpu - a.cpu || (a.name < b.name ? -1 : 1)).slice(0, TOP_MODULES);
      return {
        account: String(r.account),
        jobs: Number(r.jobs),
        core_hours: hours(r.cpu_s),
        gpu_hours: hours(r.gpu_s),
        users: Number(r.users),
        top_modules: top.map((m) => `${m.name} (${hours(m.cpu)})`).join(', '),
      };
    })
    .sort((a, b) => b.core_hours - a.core_hours || b.jobs - a.jobs || (a.account < b.account ? -1 : 1));
}
