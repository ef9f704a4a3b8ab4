import type { LoadRecord } from '../record';

/** Characters that JSON strings must escape; most values have none, so they skip JSON.stringify. */
const NEEDS_ESCAPE = /["\\\u0000-\u001f\ud800-\udfff]/;

function str(value: string): string {
  return NEEDS_ESCAPE.test(value) ? JSON.stringify(value) : `"${value}"`;
}

function nullable(value: string | null): string {
  return value === null ? 'null' : str(value);
}

/** One NDJSON line (with `\n`), the same text JSON.stringify gives, built by hand because serialising is the largest cost of lmod-parse after reading. */
export function recordToNdjson(r: LoadRecord): string {
  let line = `{"time":"${r.time}","user":${str(r.user)},"module":${str(r.module)},"name":${str(r.name)},"version":${nullable(r.version)},"path":${nullable(r.path)},"host":${nullable(r.host)},"jobid":${nullable(r.jobid)},"userload":${r.userload},"cluster":${nullable(r.cluster)}`;
  if (r.extra !== undefined) line += `,"extra":${JSON.stringify(r.extra)}`;
  if (r.source !== undefined) line += `,"source":${str(r.source)}`;
  return line + '}\n';
}
