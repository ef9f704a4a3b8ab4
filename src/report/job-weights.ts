import { HashSet64 } from '../dedupe/hash-set';
import { pairLow } from './module-counts';
import { type IdFilters, jobConditions, jobIdsIn, whereClause } from './queries';

/**
 * What Slurm's jobs add to the reports, counted in the client: per package name and per full module name, the distinct
 * jobs its loads ran in and their CPU- and GPU-seconds, and per account and package the CPU-seconds. A module is
 * credited each job in which it was loaded at least once, in full. The jobs are read once into memory (500,000 jobs
 * take about 60 MB), the loads that name a job are streamed by their bare columns, and the distinct (package, job) and
 * (module, job) pairs are kept in two hash sets. The same answer as one SQL DISTINCT over the loads joined to their jobs
 * (test/report-jobs.test.ts holds the two to each other), which took MariaDB 90 s and SQLite 30 s at 3.5 million loads
 * in 500,000 jobs, where this takes seconds.
 */

/** What the counter reads: rows of a small SELECT, and the rows of a large one streamed as arrays. */
export interface RowSource {
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  eachRow(sql: string, params: unknown[], onRow: (row: unknown[]) => void): Promise<void>;
}

export interface Weights {
  jobs: number;
  core_hours: number;
  gpu_hours: number;
}

export const NO_WEIGHTS: Weights = { jobs: 0, core_hours: 0, gpu_hours: 0 };

/** Hours to 3 decimals (3.6 s): sums are taken in whole CPU- and GPU-seconds, so only the printing rounds. */
export const hours = (seconds: number): number => Math.round(seconds / 3.6) / 1000;

export interface JobWeights {
  /** By package name. */
  byName: Map<string, Weights>;
  /** By full module name. */
  byModule: Map<string, Weights>;
  /** Per account ('' for none): its packages and their CPU-seconds. */
  accountModules: Map<string, Map<string, number>>;
}

/** Sums per group: distinct jobs, CPU- and GPU-seconds. */
class GroupSums {
  readonly pairs = new HashSet64(1 << 16);
  readonly jobs: number[] = [];
  readonly cpu: number[] = [];
  readonly gpu: number[] = [];

  constructor(readonly labels: string[]) {
    for (let g = 0; g < labels.length; g++) this.jobs.push(0), this.cpu.push(0), this.gpu.push(0);
  }

  /** Whether the job is new to the group; its seconds are added once. */
  add(group: number, job: number, cpu: number, gpu: number): boolean {
    if (!this.pairs.add(group + 1, pairLow(group, job))) return false;
    this.jobs[group]++;
    this.cpu[group] += cpu;
    this.gpu[group] += gpu;
    return true;
  }

  weights(): Map<string, Weights> {
    const out = new Map<string, Weights>();
    for (let g = 0; g < this.labels.length; g++) {
      if (this.jobs[g] > 0) out.set(this.labels[g], { jobs: this.jobs[g], core_hours: hours(this.cpu[g]), gpu_hours: hours(this.gpu[g]) });
    }
    return out;
  }
}

/** One answer being counted: the pairs and sums by package, by full name, and per account. */
class Tally {
  readonly names: GroupSums;
  readonly versions: GroupSums;
  readonly accountModules = new Map<string, Map<string, number>>();

  constructor(nameLabels: string[], moduleLabels: string[]) {
    this.names = new GroupSums(nameLabels);
    this.versions = new GroupSums(moduleLabels);
  }

  credit(name: number, module: number, job: number, cpu: number, gpu: number, account: string): void {
    this.versions.add(module, job, cpu, gpu);
    if (!this.names.add(name, job, cpu, gpu)) return;
    let perName = this.accountModules.get(account);
    if (perName === undefined) this.accountModules.set(account, (perName = new Map()));
    const label = this.names.labels[name];
    perName.set(label, (perName.get(label) ?? 0) + cpu);
  }

  result(): JobWeights {
    return { byName: this.names.weights(), byModule: this.versions.weights(), accountModules: this.accountModules };
  }
}

/**
 * The loads under the filters (--account and --partition choose the jobs) and the jobs they ran in. `alsoUserloadOnly`
 * counts the user loads alone in the same pass, as a second answer (summarize stores both).
 */
export async function countJobWeights(client: RowSource, f: IdFilters, alsoUserloadOnly = false): Promise<JobWeights[]> {
  const job = jobConditions(f);
  // Jobs chosen by account or partition: only their loads are read (the cluster rule is applied here).
  const loads = whereClause({ ...f, accounts: [], partitions: [] }, ['l.jobid IS NOT NULL', ...(job.sql === '' ? [] : [jobIdsIn(job)])]);
  const loadParams = [...loads.params, ...job.params];
  // Loads narrowed by time, name or cluster name few jobs: only those are read, not every job of the table.
  const narrowed = f.since !== null || f.until !== null || f.userIds !== null || f.hostIds !== null || f.moduleIds !== null || f.clusters.length > 0;
  const jobWhere = [...(job.sql === '' ? [] : [job.sql]), ...(narrowed ? [`j.jobid IN (SELECT l.jobid FROM module_loads l ${loads.sql})`] : [])];
  const jobs = await client.query<{ cluster: unknown; jobid: unknown; cpu_s: unknown; gpu_s: unknown; account: unknown }>(
    "SELECT j.cluster, j.jobid, j.elapsed_s * j.cpus AS cpu_s, j.elapsed_s * j.gpus AS gpu_s, COALESCE(j.account, '') AS account FROM jobs j" +
      (jobWhere.length === 0 ? '' : ` WHERE ${jobWhere.join(' AND ')}`),
    [...job.params, ...(narrowed ? loadParams : [])],
  );
  // A job id names one job per cluster: most ids have one, so the index holds a number and only shared ids an array.
  const byId = new Map<string, number | number[]>();
  const clusters: string[] = [];
  const cpu = new Float64Array(jobs.length);
  const gpu = new Float64Array(jobs.length);
  const accounts: string[] = [];
  jobs.forEach((r, i) => {
    const id = String(r.jobid);
    const before = byId.get(id);
    byId.set(id, before === undefined ? i : Array.isArray(before) ? [...before, i] : [before, i]);
    clusters.push(String(r.cluster));
    cpu[i] = Number(r.cpu_s);
    gpu[i] = Number(r.gpu_s);
    accounts.push(String(r.account));
  });

  const modules = await client.query<{ id: unknown; module: unknown; name: unknown }>('SELECT id, module, name FROM modules ORDER BY id');
  const nameGroups = new Map<string, number>();
  const groupOf = new Map<number, [number, number]>();
  modules.forEach((m, i) => {
    const name = String(m.name);
    if (!nameGroups.has(name)) nameGroups.set(name, nameGroups.size);
    groupOf.set(Number(m.id), [nameGroups.get(name)!, i]);
  });
  const tally = (): Tally =>
    new Tally(
      [...nameGroups.keys()],
      modules.map((m) => String(m.module)),
    );
  const all = tally();
  const userOnly = alsoUserloadOnly ? tally() : null;

  await client.eachRow(`SELECT l.module_id, l.jobid, l.cluster, l.userload FROM module_loads l ${loads.sql}`, loadParams, (row) => {
    const groups = groupOf.get(Number(row[0]));
    const found = byId.get(String(row[1]));
    if (groups === undefined || found === undefined) return;
    const cluster = row[2] as string | null;
    const userload = Number(row[3]) === 1;
    const credit = (j: number): void => {
      // A load's job: the same id on the same cluster, an unknown cluster on either side matching any (JOB_OF_LOAD).
      if (cluster !== null && clusters[j] !== '' && clusters[j] !== cluster) return;
      all.credit(groups[0], groups[1], j, cpu[j], gpu[j], accounts[j]);
      if (userload) userOnly?.credit(groups[0], groups[1], j, cpu[j], gpu[j], accounts[j]);
    };
    if (typeof found === 'number') credit(found);
    else for (const j of found) credit(j);
  });
  return userOnly === null ? [all.result()] : [all.result(), userOnly.result()];
}
