import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { JobRow } from '../../src/db/row';
import { JOB_COLUMNS, jobsToWrite, jobValues } from '../../src/db/store';
import { layoutRow } from '../../src/load/layout-row';
import { toRow } from '../../src/load/validate';
import { record } from '../helpers/load';

/** Job records as lmod-load checks them, and the rule that decides which stored job a record replaces. */
const JOB = {
  cluster: 'alpha',
  jobid: '7',
  job: '7',
  user: 'ann',
  account: 'physics',
  partition: 'cpu',
  state: 'RUNNING',
  start: '2026-12-01T10:00:00.000000Z',
  end: null,
  elapsed_s: 600,
  cpus: 4,
  gpus: 1,
  nodes: 1,
};

test('toRow: a job record (by its elapsed_s) becomes a jobs row; bad values are refused with the field', () => {
  assert.deepEqual(toRow(JOB, 'jobs.ndjson', 3), {
    cluster: 'alpha',
    jobid: '7',
    job: '7',
    user: 'ann',
    account: 'physics',
    partition: 'cpu',
    state: 'RUNNING',
    start: '2026-12-01 10:00:00.000000',
    end: null,
    elapsed: 600,
    cpus: 4,
    gpus: 1,
    nodes: 1,
    source: 'jobs.ndjson',
    line: 3,
  });
  assert.equal((toRow({ ...JOB, cluster: null }, 'f', 1) as JobRow).cluster, '');
  for (const [change, reason] of [
    [{ cpus: 2 ** 24 + 1 }, 'cpus must be a whole number from 0 to 16777216'],
    [{ cpus: 5_000_000_000 }, 'cpus must be a whole number from 0 to 16777216'],
    [{ elapsed_s: -1 }, 'elapsed_s must be a whole number from 0 to 316224000'],
    [{ elapsed_s: 1.5 }, 'elapsed_s must be a whole number from 0 to 316224000'],
    [{ gpus: '1' }, 'gpus must be a whole number from 0 to 16777216'],
    [{ nodes: -2 }, 'nodes must be a whole number from 0 to 16777216 or null'],
    [{ jobid: '' }, 'jobid and job must be non-empty strings'],
    [{ jobid: '7 ' }, 'jobid "7 " ends with a space (database keys ignore trailing spaces)'],
    [{ cluster: 'alpha ' }, 'cluster "alpha " ends with a space (database keys ignore trailing spaces)'],
    [{ cluster: 'c'.repeat(65) }, 'cluster is longer than 64 characters'],
    [{ end: '2026-13-01T00:00:00.000000Z' }, 'time "2026-13-01T00:00:00.000000Z" is not a UTC time like 2023-04-27T07:22:57.622180Z'],
    [{ state: 7 }, 'state must be a string or null'],
  ] as const) {
    assert.equal(toRow({ ...JOB, ...change }, 'f', 1), reason, JSON.stringify(change));
  }
  const { nodes: _omitted, ...withoutNodes } = JOB;
  void _omitted;
  assert.equal(toRow(withoutNodes, 'f', 1), 'missing field nodes');
});

test("a load's empty cluster is no cluster, on both of the loader's paths", () => {
  const line = JSON.stringify(record({ cluster: '' }));
  assert.equal(layoutRow(line, 'f', 1)?.cluster, null);
  assert.equal((toRow(JSON.parse(line), 'f', 1) as { cluster: unknown }).cluster, null);
});

function row(change: Partial<JobRow>): JobRow {
  return { ...(toRow(JOB, 'f', 1) as JobRow), ...change };
}

test('jobsToWrite: new and changed jobs are written; an ended job is not replaced by a running one, nor a running one by one that ran less', () => {
  const running = row({});
  const ended = row({ state: 'COMPLETED', end: '2026-12-01 11:00:00.000000', elapsed: 3600 });
  const stored = (r: JobRow): unknown[] => jobValues(r).map((v) => (typeof v === 'number' ? String(v) : v));
  assert.deepEqual(jobsToWrite([running], []), [running]);
  assert.deepEqual(jobsToWrite([running], [stored(running)]), [], 'the same job again');
  assert.deepEqual(jobsToWrite([ended], [stored(running)]), [ended], 'it has ended since');
  assert.deepEqual(jobsToWrite([running], [stored(ended)]), [], 'an older sacct loaded after a newer one');
  assert.deepEqual(jobsToWrite([row({ elapsed: 900 })], [stored(running)]), [row({ elapsed: 900 })], 'still running, longer');
  assert.deepEqual(jobsToWrite([row({ elapsed: 300 })], [stored(running)]), [], 'still running, from an older output');
  // Within one batch: the later record of a key, by the same rule.
  assert.deepEqual(jobsToWrite([ended, running], []), [ended]);
  assert.deepEqual(jobsToWrite([running, ended], []), [ended]);
  assert.equal(JOB_COLUMNS.length, jobValues(running).length);
});
