/**
 * A load record checked against the record contract and the column limits of schema v1, in the shape the stores write:
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
  extra: string | null;
  /** Where the record came from, for messages about it: FILE and LINE. */
  source: string;
  line: number;
  /** An upper bound of the bytes this row adds to an INSERT statement. */
  bytes: number;
}

/** Column limits in characters (VARCHAR) or bytes (TEXT), as in schema v1. */
export const LIMITS = { user: 255, host: 255, module: 255, name: 255, version: 255, path: 768, jobid: 128, extraBytes: 65_535 };
