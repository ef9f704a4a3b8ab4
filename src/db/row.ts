/**
 * A load record checked against the record contract and the column limits of the schema, in the shape the stores write:
 * `time` as the database prints DATETIME(6), `host` '' for an unlogged host, `extra` as compact JSON.
 */
export interface LoadRow {
  time: string;
  user: string;
  host: string;
  module: string;
  name: string;
  version: string | null;
  path: string | null;
  jobid: string | null;
  userload: 0 | 1 | null;
  cluster: string | null;
  extra: string | null;
  /** Where the record came from, for messages about it: FILE and LINE. */
  source: string;
  line: number;
  /** An upper bound of the bytes this row adds to an INSERT statement. */
  bytes: number;
}

/** Column limits in characters (VARCHAR) or bytes (TEXT). */
export const LIMITS = { user: 255, host: 255, module: 255, name: 255, version: 255, path: 768, jobid: 128, cluster: 64, extraBytes: 65_535 };

/** A job record (lmod-jobs) checked for the jobs table: times as the database prints DATETIME(6), '' for no cluster. */
export interface JobRow {
  cluster: string;
  jobid: string;
  job: string;
  user: string | null;
  account: string | null;
  partition: string | null;
  state: string | null;
  start: string | null;
  end: string | null;
  elapsed: number;
  cpus: number;
  gpus: number;
  nodes: number | null;
  source: string;
  line: number;
}

export const JOB_LIMITS = { cluster: 64, jobid: 128, job: 128, user: 255, account: 255, partition: 255, state: 32 };

export function isJobRow(row: LoadRow | JobRow): row is JobRow {
  return 'cpus' in row;
}
