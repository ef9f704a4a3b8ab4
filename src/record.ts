/**
 * The NDJSON load record: the public contract between lmod-parse, lmod-dedupe,
 * lmod-load and anybody's own scripts (design.md section 2). Field order is fixed.
 */
export interface LoadRecord {
  /** UTC, ISO-8601 with exactly 6 fractional digits and `Z`. */
  time: string;
  user: string;
  /** The full module name as logged, e.g. `mpi/openmpi/4.1.5`. */
  module: string;
  /** `module` without its last `/`-component. */
  name: string;
  /** The last `/`-component of `module`, or null when it has none. */
  version: string | null;
  path: string | null;
  host: string | null;
  jobid: string | null;
  userload: boolean | null;
  /** Other key=value pairs of the message; omitted when there are none. */
  extra?: Record<string, string>;
  /** `FILE:LINE` with `--with-source`. */
  source?: string;
}

/** The fields that make a load event unique, in key order. */
export const IDENTITY_FIELDS = ['time', 'user', 'host', 'module'] as const;

/** Splits a full module name into its package name and version. */
export function splitModule(module: string): { name: string; version: string | null } {
  const slash = module.lastIndexOf('/');
  if (slash < 0) return { name: module, version: null };
  return { name: module.slice(0, slash), version: module.slice(slash + 1) };
}
