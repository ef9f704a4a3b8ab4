/**
 * The header line of `sacct --parsable2` output: which column holds what. sacct prints the fields in the order of its
 * `--format`, so every input (and every header repeated inside one) says anew where each field is.
 */

/** The fields lmod-jobs reads, in the order the docs and the daily job ask sacct for them. */
export const SACCT_FORMAT = 'Cluster,JobIDRaw,JobID,User,Account,Partition,State,Start,End,ElapsedRaw,AllocCPUS,AllocTRES,NNodes';

/** The field names lmod-jobs reads, lower case (headers match case-insensitively) to as sacct documents them. */
const CANONICAL = new Map([...SACCT_FORMAT.split(','), 'Elapsed', 'NCPUS'].map((name) => [name.toLowerCase(), name]));

/** A column of the header: where its values are, and its name for messages. */
export interface Column {
  at: number;
  name: string;
}

export interface SacctColumns {
  /** Fields in every row. */
  width: number;
  /** JobIDRaw, else JobID. */
  jobid: Column;
  /** JobID, else JobIDRaw. */
  job: Column;
  /** ElapsedRaw (seconds), else Elapsed (`[D-]HH:MM:SS`). */
  elapsed: Column;
  /** AllocCPUS, else NCPUS. */
  cpus: Column;
  cluster: Column | null;
  user: Column | null;
  account: Column | null;
  partition: Column | null;
  state: Column | null;
  start: Column | null;
  end: Column | null;
  tres: Column | null;
  nodes: Column | null;
}

export type HeaderOutcome = { columns: SacctColumns } | { lacks: string };

/** A field name as sacct prints it in a header: a letter, then letters and digits (`AllocTRES`, `TRESUsageInAve`). */
const NAME = /^[a-z][a-z0-9]*$/;

/**
 * Whether a line further into an input is a header again (`cat day1 day2 | lmod-jobs`): all its fields are names (the
 * last may be empty: `sacct --parsable` ends lines with `|`) and one names the job id. A row never is one, as its job id
 * starts with a digit; a first field alone would not do, as a cluster may well be called `cluster` (Slurm's default).
 */
export function isHeaderLine(line: string): boolean {
  const names = line.toLowerCase().split('|');
  const last = names.length - 1;
  return names.every((name, i) => NAME.test(name) || (i === last && name === '')) && (names.includes('jobidraw') || names.includes('jobid'));
}

/** The columns a header names, or what it lacks of the needed ones (`JobIDRaw or JobID`). */
export function readHeader(line: string): HeaderOutcome {
  const names = line.split('|');
  const found = new Map<string, Column>();
  names.forEach((name, at) => {
    const canonical = CANONICAL.get(name.toLowerCase());
    // A name given twice: the first one counts, as a reader of the header would take it.
    if (canonical !== undefined && !found.has(canonical)) found.set(canonical, { at, name: canonical });
  });
  const either = (first: string, second: string): Column | null => found.get(first) ?? found.get(second) ?? null;
  const jobid = either('JobIDRaw', 'JobID');
  const job = either('JobID', 'JobIDRaw');
  const elapsed = either('ElapsedRaw', 'Elapsed');
  const cpus = either('AllocCPUS', 'NCPUS');
  if (jobid === null || job === null || elapsed === null || cpus === null) {
    const needed: [Column | null, string][] = [
      [jobid, 'JobIDRaw or JobID'],
      [elapsed, 'ElapsedRaw or Elapsed'],
      [cpus, 'AllocCPUS or NCPUS'],
    ];
    return { lacks: needed.flatMap(([column, alternatives]) => (column === null ? [alternatives] : [])).join(', ') };
  }
  const optional = (name: string): Column | null => found.get(name) ?? null;
  return {
    columns: {
      width: names.length,
      jobid,
      job,
      elapsed,
      cpus,
      cluster: optional('Cluster'),
      user: optional('User'),
      account: optional('Account'),
      partition: optional('Partition'),
      state: optional('State'),
      start: optional('Start'),
      end: optional('End'),
      tres: optional('AllocTRES'),
      nodes: optional('NNodes'),
    },
  };
}
