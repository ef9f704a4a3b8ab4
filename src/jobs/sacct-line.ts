import type { JobRecord } from '../job-record';
import type { ZoneConverter } from '../parse/header-time';
import { clockSeconds, localTimeToIso, tresGpus, wholeNumber } from './sacct-fields';
import type { Column, SacctColumns } from './sacct-header';

/** What a row is: a job (its allocation), a step of one, or malformed with the reason. */
export type SacctOutcome = { job: JobRecord } | { step: true } | { malformed: string };

export interface SacctContext {
  /** Wall-clock time in the zone sacct printed in (--tz) to seconds since the epoch. */
  toEpoch: ZoneConverter;
  /** The cluster of rows without one (--cluster), or null. */
  cluster: string | null;
}

/** What sacct prints as Start or End of a job that has not started or not ended. */
const NO_TIME: ReadonlySet<string> = new Set(['', 'Unknown', 'None']);

/** `empty AllocCPUS`, `bad AllocCPUS`: a needed field. */
function invalid(name: string, value: string): { malformed: string } {
  return { malformed: `${value === '' ? 'empty' : 'bad'} ${name}` };
}

/** One row of `sacct --parsable2` under its header's columns in, its outcome out. No I/O, no state. */
export function parseSacctLine(line: string, columns: SacctColumns, context: SacctContext): SacctOutcome {
  const fields = line.split('|');
  if (fields.length !== columns.width) return { malformed: `${fields.length} fields, the header has ${columns.width}` };
  /** A column's text; null when the header has no such column. */
  const value = (column: Column | null): string | null => (column === null ? null : fields[column.at]);
  /** An optional text field: null when absent or empty. */
  const text = (column: Column | null): string | null => value(column) || null;

  const jobid = fields[columns.jobid.at];
  const job = fields[columns.job.at];
  if (jobid === '') return invalid(columns.jobid.name, jobid);
  if (job === '') return invalid(columns.job.name, job);
  // A step (`123.batch`, `123.0`, `2_1.extern`) ran inside its job's allocation, whose own line carries the totals.
  if (jobid.includes('.') || job.includes('.')) return { step: true };
  // JobIDRaw is the number in SLURM_JOB_ID; anything else there means the columns are not what the header says.
  if (columns.jobid.name === 'JobIDRaw' && wholeNumber(jobid) === null) return invalid('JobIDRaw', jobid);

  const elapsedText = fields[columns.elapsed.at];
  const elapsed = columns.elapsed.name === 'ElapsedRaw' ? wholeNumber(elapsedText) : clockSeconds(elapsedText);
  if (elapsed === null) return invalid(columns.elapsed.name, elapsedText);
  const cpus = wholeNumber(fields[columns.cpus.at]);
  if (cpus === null) return invalid(columns.cpus.name, fields[columns.cpus.at]);
  // Without AllocTRES no GPU is known, as with an empty one.
  const tres = value(columns.tres) ?? '';
  const gpus = tresGpus(tres);
  if (gpus === null) return { malformed: 'bad AllocTRES' };
  // An empty NNodes is no count: unknown, as without the column.
  const nodesText = text(columns.nodes);
  const nodes = nodesText === null ? null : wholeNumber(nodesText);
  if (nodesText !== null && nodes === null) return { malformed: 'bad NNodes' };
  const start = timeOf(value(columns.start), context.toEpoch);
  if (start === undefined) return { malformed: 'bad Start' };
  const end = timeOf(value(columns.end), context.toEpoch);
  if (end === undefined) return { malformed: 'bad End' };

  return {
    job: {
      cluster: text(columns.cluster) ?? context.cluster,
      jobid,
      job,
      user: text(columns.user),
      account: text(columns.account),
      partition: text(columns.partition),
      state: text(columns.state)?.split(' ')[0] ?? null,
      start,
      end,
      elapsed_s: elapsed,
      cpus,
      gpus,
      nodes,
    },
  };
}

/** A Start or End as UTC; null when the job has none (yet) or the column is absent, undefined when it is no time. */
function timeOf(value: string | null, toEpoch: ZoneConverter): string | null | undefined {
  if (value === null || NO_TIME.has(value)) return null;
  return localTimeToIso(value, toEpoch) ?? undefined;
}
