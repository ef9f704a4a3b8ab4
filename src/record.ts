/**
 * The NDJSON load record: the public contract between lmod-parse, lmod-dedupe, lmod-load and anybody's own scripts
 * (docs/records.md). Field order is fixed: RECORD_FIELDS.
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
  /** The cluster the load ran on: logged by the hook, or lmod-parse's --cluster; null when unknown. */
  cluster: string | null;
  /** Other key=value pairs of the message; omitted when there are none. */
  extra?: Record<string, string>;
  /** `FILE:LINE` with `--with-source`. */
  source?: string;
}

/**
 * The record's fields in the order lmod-parse writes them: the one list that the fast paths (the WebAssembly scanners
 * through the header scripts/build-wasm.sh generates from it, the layout regular expressions) are built from. `extra`
 * and `source` may follow.
 */
export const RECORD_FIELDS = ['time', 'user', 'module', 'name', 'version', 'path', 'host', 'jobid', 'userload', 'cluster'] as const;

/** The fields that make a load event unique, in key order. */
export const IDENTITY_FIELDS = ['time', 'user', 'host', 'module'] as const;

/** Splits a full module name into its package name and version. */
export function splitModule(module: string): { name: string; version: string | null } {
  const slash = module.lastIndexOf('/');
  if (slash < 0) return { name: module, version: null };
  return { name: module.slice(0, slash), version: module.slice(slash + 1) };
}
