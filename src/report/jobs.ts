import { hours, type JobWeights, type RowSource } from './job-weights';
import { compareCodePoints } from './module-counts';
import { type IdFilters, jobConditions } from './queries';

/** The jobs' reports: `modules --weight` orders by one of these; `accounts` totals the jobs per account. */
export type Weight = 'jobs' | 'core-hours' | 'gpu-hours';
export const WEIGHTS: readonly Weight[] = ['jobs', 'core-hours', 'gpu-hours'];
export const WEIGHT_COLUMN: Record<Weight, 'jobs' | 'core_hours' | 'gpu_hours'> = { jobs: 'jobs', 'core-hours': 'core_hours', 'gpu-hours': 'gpu_hours' };

/** Modules listed per account in `accounts`. */
const TOP_MODULES = 5;

/**
 * `accounts`: per account (of the jobs started in --since/--until, of --cluster, --partition and --account), its jobs,
 * core- and GPU-hours and users, and the modules its jobs spent the most core-hours with (loads under the other filters).
 * `counted`: the jobs' weights of these filters (countJobWeights).
 */
export async function accountRows(client: RowSource, f: IdFilters, counted: JobWeights): Promise<Record<string, string | number>[]> {
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
  const { accountModules } = counted;
  return totals
    .map((r) => {
      const top = [...(accountModules.get(String(r.account)) ?? [])]
        .map(([name, cpu]) => ({ name, cpu }))
        .sort((a, b) => b.cpu - a.cpu || compareCodePoints(a.name, b.name))
        .slice(0, TOP_MODULES);
      return {
        account: String(r.account),
        jobs: Number(r.jobs),
        core_hours: hours(Number(r.cpu_s)),
        gpu_hours: hours(Number(r.gpu_s)),
        users: Number(r.users),
        top_modules: top.map((m) => `${m.name} (${hours(m.cpu)})`).join(', '),
      };
    })
    .sort((a, b) => b.core_hours - a.core_hours || b.jobs - a.jobs || compareCodePoints(a.account, b.account));
}
