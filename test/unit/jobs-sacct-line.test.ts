import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobRecord } from '../../src/job-record';
import { zoneConverter } from '../../src/parse/header-time';
import { clockSeconds, localTimeToIso, tresGpus, wholeNumber } from '../../src/jobs/sacct-fields';
import { isHeaderLine, readHeader, SACCT_FORMAT, type SacctColumns } from '../../src/jobs/sacct-header';
import { parseSacctLine, type SacctContext, type SacctOutcome } from '../../src/jobs/sacct-line';

const HEADER = SACCT_FORMAT.replace(/,/g, '|');
const UTC: SacctContext = { toEpoch: zoneConverter('UTC'), cluster: null };

function columnsOf(header: string): SacctColumns {
  const outcome = readHeader(header);
  assert.ok('columns' in outcome, `a good header: ${header}`);
  return outcome.columns;
}

/** A row under `header` in UTC (or `context`). */
function parse(header: string, row: string, context: SacctContext = UTC): SacctOutcome {
  return parseSacctLine(row, columnsOf(header), context);
}

/** What a function of one field's text gives for each text. */
function expectEach(fn: (text: string) => number | null, cases: [string, number | null][]): void {
  for (const [text, expected] of cases) assert.equal(fn(text), expected, text);
}

/** The job of `row()` in UTC, with some fields replaced. */
function job(overrides: Partial<JobRecord>): { job: JobRecord } {
  return {
    job: {
      cluster: 'lmodtest',
      jobid: '5',
      job: '5',
      user: 'root',
      account: 'physics',
      partition: 'debug',
      state: 'COMPLETED',
      start: '2026-12-04T15:51:00.000000Z',
      end: '2026-12-04T15:51:30.000000Z',
      elapsed_s: 30,
      cpus: 2,
      gpus: 0,
      nodes: 1,
      ...overrides,
    },
  };
}

/** A row in SACCT_FORMAT with some fields replaced, by name. */
function row(fields: Partial<Record<string, string>> = {}): string {
  const base: Record<string, string> = {
    Cluster: 'lmodtest',
    JobIDRaw: '5',
    JobID: '5',
    User: 'root',
    Account: 'physics',
    Partition: 'debug',
    State: 'COMPLETED',
    Start: '2026-12-04T15:51:00',
    End: '2026-12-04T15:51:30',
    ElapsedRaw: '30',
    AllocCPUS: '2',
    AllocTRES: 'billing=2,cpu=2,node=1',
    NNodes: '1',
  };
  return SACCT_FORMAT.split(',')
    .map((name) => fields[name] ?? base[name])
    .join('|');
}

test('SACCT_FORMAT names the fields in the order the sample of Slurm 22.05 prints them', () => {
  assert.equal(SACCT_FORMAT, 'Cluster,JobIDRaw,JobID,User,Account,Partition,State,Start,End,ElapsedRaw,AllocCPUS,AllocTRES,NNodes');
});

test('readHeader: columns by name in any order and case; the id, elapsed and cpus alternatives; the width', () => {
  const full = columnsOf(HEADER);
  assert.deepEqual(full.jobid, { at: 1, name: 'JobIDRaw' });
  assert.deepEqual(full.job, { at: 2, name: 'JobID' });
  assert.deepEqual(full.elapsed, { at: 9, name: 'ElapsedRaw' });
  assert.deepEqual(full.cpus, { at: 10, name: 'AllocCPUS' });
  assert.deepEqual(full.nodes, { at: 12, name: 'NNodes' });
  assert.equal(full.width, 13);

  const other = columnsOf('elapsed|NCPUS|jobid|Comment|STATE');
  assert.deepEqual(other.jobid, { at: 2, name: 'JobID' });
  assert.deepEqual(other.job, { at: 2, name: 'JobID' });
  assert.deepEqual(other.elapsed, { at: 0, name: 'Elapsed' });
  assert.deepEqual(other.cpus, { at: 1, name: 'NCPUS' });
  assert.deepEqual(other.state, { at: 4, name: 'State' });
  assert.equal(other.cluster, null);
  assert.equal(other.tres, null);
  assert.equal(other.width, 5);

  // Both present: ElapsedRaw and AllocCPUS win wherever they stand; a name given twice counts where it first stands.
  const both = columnsOf('Elapsed|ElapsedRaw|NCPUS|AllocCPUS|JobIDRaw|JobIDRaw');
  assert.deepEqual(
    [both.elapsed, both.cpus, both.jobid, both.job],
    [
      { at: 1, name: 'ElapsedRaw' },
      { at: 3, name: 'AllocCPUS' },
      { at: 4, name: 'JobIDRaw' },
      { at: 4, name: 'JobIDRaw' },
    ],
  );
  // sacct --parsable (not --parsable2) ends every line with `|`: one more, empty, field in header and rows alike.
  assert.equal(columnsOf(`${HEADER}|`).width, 14);
});

test('readHeader: what a header lacks of the needed fields', () => {
  assert.deepEqual(readHeader('JobID|User|AllocCPUS'), { lacks: 'ElapsedRaw or Elapsed' });
  assert.deepEqual(readHeader('User|ElapsedRaw|NCPUS'), { lacks: 'JobIDRaw or JobID' });
  assert.deepEqual(readHeader('JobIDRaw|Elapsed'), { lacks: 'AllocCPUS or NCPUS' });
  assert.deepEqual(readHeader('5|lmodtest|root'), { lacks: 'JobIDRaw or JobID, ElapsedRaw or Elapsed, AllocCPUS or NCPUS' });
  assert.deepEqual(readHeader('JobIDs|ElapsedRaw |AllocCPUS'), { lacks: 'JobIDRaw or JobID, ElapsedRaw or Elapsed' });
});

test('isHeaderLine: all fields names, one of them the job id; a row never, even of a cluster called `cluster`', () => {
  assert.equal(isHeaderLine(HEADER), true);
  assert.equal(isHeaderLine(`${HEADER}|`), true);
  assert.equal(isHeaderLine('jobidraw|elapsedraw|alloccpus'), true);
  assert.equal(isHeaderLine('JobName|JobID|Elapsed|TRESUsageInAve'), true);
  assert.equal(isHeaderLine('JobID|User'), true);
  assert.equal(isHeaderLine(row()), false);
  assert.equal(isHeaderLine(row({ Cluster: 'cluster' })), false);
  assert.equal(isHeaderLine('cluster|2|2_3|jobid|physics'), false);
  assert.equal(isHeaderLine('Cluster|User|ElapsedRaw'), false);
  assert.equal(isHeaderLine('JobID||ElapsedRaw'), false);
  assert.equal(isHeaderLine('Job ID|Elapsed'), false);
});

test('wholeNumber: digits only, within the safe integers', () => {
  expectEach(wholeNumber, [
    ['0', 0],
    ['30', 30],
    ['007', 7],
    ['9007199254740991', 9007199254740991],
    ['9007199254740992', null],
    ['', null],
    ['-1', null],
    ['1.5', null],
    [' 1', null],
    ['1e3', null],
    ['0x10', null],
  ]);
});

test('clockSeconds: Elapsed as sacct prints it, [D-]HH:MM:SS, MM:SS, MM:SS.mmm; anything else null', () => {
  expectEach(clockSeconds, [
    ['00:00:00', 0],
    ['02:30:00', 9000],
    ['1-02:03:04', 93784],
    ['12-00:00:01', 1036801],
    ['10:00', 600],
    ['00:42.117', 42],
    ['59:59.999', 3599],
    ['01:00:00.5', 3600],
    ['99:59:59', 359999],
    ['120:00', 7200],
    ['1-24:00:00', null],
    ['00:60:00', null],
    ['00:00:60', null],
    ['1-03:04', null],
    ['30', null],
    ['', null],
    ['INVALID', null],
    ['-00:00:01', null],
    ['1:2:3:4', null],
  ]);
});

test('localTimeToIso: sacct wall-clock time in UTC, a fixed offset, an IANA zone (both sides of DST), as a record time', () => {
  const at = (text: string, tz: string) => localTimeToIso(text, zoneConverter(tz));
  assert.equal(at('2026-12-04T10:11:12', 'UTC'), '2026-12-04T10:11:12.000000Z');
  assert.equal(at('2026-12-04T10:11:12', 'Europe/Berlin'), '2026-12-04T09:11:12.000000Z');
  assert.equal(at('2026-07-04T10:11:12', 'Europe/Berlin'), '2026-07-04T08:11:12.000000Z');
  assert.equal(at('2026-12-04T10:11:12', '+05:30'), '2026-12-04T04:41:12.000000Z');
  assert.equal(at('2026-12-04T01:00:00', '-03:00'), '2026-12-04T04:00:00.000000Z');
  assert.equal(at('2026-12-31T23:30:00', 'America/New_York'), '2027-01-01T04:30:00.000000Z');
  assert.equal(at('2024-02-29T00:00:00', 'UTC'), '2024-02-29T00:00:00.000000Z');
  for (const bad of ['2026-02-29T00:00:00', '2026-13-01T00:00:00', '2026-12-00T00:00:00', '2026-12-04T24:00:00', '2026-12-04T10:60:00']) {
    assert.equal(at(bad, 'UTC'), null, bad);
  }
  for (const bad of ['2026-12-04 10:11:12', '2026-12-04T10:11:12Z', '2026-12-04T10:11', '12/04-10:11:12', 'Unknown', '']) {
    assert.equal(at(bad, 'UTC'), null, bad);
  }
});

test('tresGpus: the untyped gres/gpu when present, else the typed ones summed, else 0; gpumem and gpuutil are no GPUs', () => {
  expectEach(tresGpus, [
    ['billing=2,cpu=2,gres/gpu=1,mem=1000M,node=1', 1],
    ['cpu=4,gres/gpu:a100=2,gres/gpu=2,node=1', 2],
    ['cpu=4,gres/gpu=3,gres/gpu:a100=2,node=1', 3],
    ['cpu=16,gres/gpu:a100=2,gres/gpu:v100=1,node=2', 3],
    ['gres/gpu:a100=4', 4],
    ['billing=1,cpu=1,mem=1000M,node=1', 0],
    ['cpu=4,gres/gpumem=40G,gres/gpuutil=50,node=1', 0],
    ['cpu=4,gres/mps=100,node=1', 0],
    ['', 0],
    ['cpu=4,gres/gpu=,node=1', null],
    ['cpu=4,gres/gpu:a100=two', null],
  ]);
});

test('a job line: every field; the step lines of jobs and array tasks are folded', () => {
  assert.deepEqual(parse(HEADER, row()), job({}));
  for (const [jobidraw, jobid] of [
    ['5.batch', '5.batch'],
    ['5.extern', '5.extern'],
    ['5.0', '5.0'],
    ['3.batch', '2_1.batch'],
    ['3.4294967292', '2_1.interactive'],
  ]) {
    assert.deepEqual(parse(HEADER, row({ JobIDRaw: jobidraw, JobID: jobid, User: '', Partition: '' })), { step: true }, jobid);
  }
  // A step's own fields are not read: the job line carries the totals.
  assert.deepEqual(parse(HEADER, row({ JobIDRaw: '5.batch', JobID: '5.batch', ElapsedRaw: '', AllocCPUS: '' })), { step: true });
});

test('an array task: jobid is JobIDRaw (SLURM_JOB_ID inside the task), job the array notation; a pending remainder too', () => {
  assert.deepEqual(parse(HEADER, row({ JobIDRaw: '3', JobID: '2_1' })), job({ jobid: '3', job: '2_1' }));
  assert.deepEqual(
    parse(
      HEADER,
      row({ JobIDRaw: '2', JobID: '2_[4-9%2]', State: 'PENDING', Start: 'Unknown', End: 'Unknown', ElapsedRaw: '0', AllocCPUS: '0', AllocTRES: '' }),
    ),
    job({ jobid: '2', job: '2_[4-9%2]', state: 'PENDING', start: null, end: null, elapsed_s: 0, cpus: 0 }),
  );
});

test('GPUs typed and untyped, running and pending jobs, CANCELLED by', () => {
  assert.deepEqual(parse(HEADER, row({ AllocTRES: 'billing=2,cpu=2,gres/gpu=1,node=1' })), job({ gpus: 1 }));
  assert.deepEqual(parse(HEADER, row({ AllocTRES: 'cpu=4,gres/gpu:a100=2,gres/gpu:h100=1,node=1' })), job({ gpus: 3 }));
  assert.deepEqual(parse(HEADER, row({ State: 'RUNNING', End: 'Unknown', ElapsedRaw: '30' })), job({ state: 'RUNNING', end: null, elapsed_s: 30 }));
  assert.deepEqual(
    parse(HEADER, row({ State: 'PENDING', Start: 'Unknown', End: 'Unknown', ElapsedRaw: '0', AllocCPUS: '0', AllocTRES: '' })),
    job({ state: 'PENDING', start: null, end: null, elapsed_s: 0, cpus: 0 }),
  );
  assert.deepEqual(parse(HEADER, row({ State: 'CANCELLED by 0' })), job({ state: 'CANCELLED' }));
  assert.deepEqual(parse(HEADER, row({ State: 'CANCELLED by 1001', Start: 'None' })), job({ state: 'CANCELLED', start: null }));
  assert.deepEqual(parse(HEADER, row({ State: '', Start: '', End: '' })), job({ state: null, start: null, end: null }));
});

test('Elapsed without ElapsedRaw, NCPUS without AllocCPUS, JobID alone as both ids', () => {
  const header = 'JobID|State|Elapsed|NCPUS';
  assert.deepEqual(parse(header, '7|COMPLETED|1-02:03:04|8'), {
    job: {
      cluster: null,
      jobid: '7',
      job: '7',
      user: null,
      account: null,
      partition: null,
      state: 'COMPLETED',
      start: null,
      end: null,
      elapsed_s: 93784,
      cpus: 8,
      gpus: 0,
      nodes: null,
    },
  });
  assert.deepEqual((parse(header, '7|COMPLETED|42:17.250|8') as { job: JobRecord }).job.elapsed_s, 2537);
  assert.deepEqual(parse(header, '7|COMPLETED|1-24:00:00|8'), { malformed: 'bad Elapsed' });
  assert.deepEqual(parse(header, '7.batch|COMPLETED|1-24:00:00|8'), { step: true });
  assert.deepEqual(parse('JobIDRaw|ElapsedRaw|AllocCPUS', '4.0|x|y'), { step: true });
  assert.deepEqual((parse('JobIDRaw|ElapsedRaw|AllocCPUS', '2|5|1') as { job: JobRecord }).job.job, '2');
});

test('time zones: Start and End read on the wall clock of the context zone', () => {
  const at = (tz: string) => parse(HEADER, row({ Start: '2026-07-01T12:00:00', End: '2026-12-01T12:00:00' }), { toEpoch: zoneConverter(tz), cluster: null });
  assert.deepEqual(at('UTC'), job({ start: '2026-07-01T12:00:00.000000Z', end: '2026-12-01T12:00:00.000000Z' }));
  assert.deepEqual(at('Europe/Berlin'), job({ start: '2026-07-01T10:00:00.000000Z', end: '2026-12-01T11:00:00.000000Z' }));
  assert.deepEqual(at('+02:00'), job({ start: '2026-07-01T10:00:00.000000Z', end: '2026-12-01T10:00:00.000000Z' }));
});

test('missing optional columns are null (gpus 0); the cluster comes from the column, else the context, else null', () => {
  const header = 'JobIDRaw|JobID|ElapsedRaw|AllocCPUS';
  const bare: JobRecord = {
    cluster: null,
    jobid: '9',
    job: '9',
    user: null,
    account: null,
    partition: null,
    state: null,
    start: null,
    end: null,
    elapsed_s: 1,
    cpus: 1,
    gpus: 0,
    nodes: null,
  };
  assert.deepEqual(parse(header, '9|9|1|1'), { job: bare });
  assert.deepEqual(parse(header, '9|9|1|1', { ...UTC, cluster: 'hpc1' }), { job: { ...bare, cluster: 'hpc1' } });
  assert.deepEqual(parse(HEADER, row(), { ...UTC, cluster: 'hpc1' }), job({}));
  assert.deepEqual(parse(HEADER, row({ Cluster: '' }), { ...UTC, cluster: 'hpc1' }), job({ cluster: 'hpc1' }));
  assert.deepEqual(parse(HEADER, row({ Cluster: '' })), job({ cluster: null }));
  assert.deepEqual(parse(HEADER, row({ User: '', Account: '', Partition: '', NNodes: '' })), job({ user: null, account: null, partition: null, nodes: null }));
  assert.deepEqual(parse(HEADER, row({ AllocTRES: '' })), job({}));
});

test('text fields are taken as they are: no trimming, UTF-8 kept', () => {
  assert.deepEqual(parse(HEADER, row({ User: 'jürgen', Account: ' phys ics ' })), job({ user: 'jürgen', account: ' phys ics ' }));
});

test('malformed rows and their reasons', () => {
  const cases: [string, string][] = [
    [row().split('|').slice(0, 12).join('|'), '12 fields, the header has 13'],
    [`${row()}|extra`, '14 fields, the header has 13'],
    ['', '1 fields, the header has 13'],
    [row({ JobIDRaw: '' }), 'empty JobIDRaw'],
    [row({ JobID: '' }), 'empty JobID'],
    [row({ JobIDRaw: 'physics' }), 'bad JobIDRaw'],
    [row({ JobIDRaw: '2_1' }), 'bad JobIDRaw'],
    [row({ ElapsedRaw: '' }), 'empty ElapsedRaw'],
    [row({ ElapsedRaw: '-5' }), 'bad ElapsedRaw'],
    [row({ ElapsedRaw: '00:00:30' }), 'bad ElapsedRaw'],
    [row({ AllocCPUS: '' }), 'empty AllocCPUS'],
    [row({ AllocCPUS: '1.5' }), 'bad AllocCPUS'],
    [row({ AllocTRES: 'cpu=2,gres/gpu=x' }), 'bad AllocTRES'],
    [row({ NNodes: 'two' }), 'bad NNodes'],
    [row({ NNodes: '-1' }), 'bad NNodes'],
    [row({ Start: '2026-12-04 15:51:00' }), 'bad Start'],
    [row({ Start: 'N/A' }), 'bad Start'],
    [row({ End: '2026-02-30T00:00:00' }), 'bad End'],
  ];
  for (const [line, reason] of cases) assert.deepEqual(parse(HEADER, line), { malformed: reason }, line);
  assert.deepEqual(parse('JobID|Elapsed|NCPUS', '|00:01|1'), { malformed: 'empty JobID' });
  assert.deepEqual(parse('JobID|Elapsed|NCPUS', '1||1'), { malformed: 'empty Elapsed' });
  assert.deepEqual(parse('JobID|Elapsed|NCPUS', '1|00:01|x'), { malformed: 'bad NCPUS' });
});
