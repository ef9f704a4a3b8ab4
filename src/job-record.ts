/**
 * The NDJSON job record that lmod-jobs writes from Slurm's accounting and lmod-load stores in the jobs table
 * (docs/jobs.md). Field order is fixed: JOB_FIELDS. lmod-load tells a job record from a load record by its
 * `elapsed_s` field.
 */
export interface JobRecord {
  /** sacct's Cluster, else lmod-jobs' --cluster; null when neither names it. */
  cluster: string | null;
  /** sacct's JobIDRaw: what SLURM_JOB_ID holds inside the job, also for each array task. */
  jobid: string;
  /** sacct's JobID as it prints it: `2_1` for an array task. */
  job: string;
  user: string | null;
  account: string | null;
  partition: string | null;
  /** The state's first word: `CANCELLED by 0` is `CANCELLED`. */
  state: string | null;
  /** UTC, ISO-8601 with 6 fractional digits and `Z`, as load records; null before the job started. */
  start: string | null;
  /** null while the job runs (or never ran). */
  end: string | null;
  /** Seconds the allocation ran (so far, for a running job). */
  elapsed_s: number;
  cpus: number;
  gpus: number;
  nodes: number | null;
}

export const JOB_FIELDS = ['cluster', 'jobid', 'job', 'user', 'account', 'partition', 'state', 'start', 'end', 'elapsed_s', 'cpus', 'gpus', 'nodes'] as const;

/** One NDJSON line (with `\n`), fields in JOB_FIELDS order. */
export function jobToNdjson(job: JobRecord): string {
  return `${JSON.stringify(job, JOB_FIELDS as unknown as string[])}\n`;
}
