import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { FIXTURES, LOADS, mysqlTarget, ndjson, report, run, sqliteTarget, type Target } from './helpers/report';

/**
 * Retention: `lmod-load prune` on a database against a database loaded with only the rows it keeps. Every report must
 * be the same, from the summaries that `prune --summarize` stores afresh, and from the loads after a prune without it.
 */
const CUT = '2024-02-01';
const INVENTORY = join(FIXTURES, 'inventory.avail.txt');
const REPORTS = [
  ['modules'],
  ['modules', '--by', 'version', '--sort', 'loads'],
  ['users'],
  ['stale', '--older-than', '1d'],
  ['trend', '--every', 'day'],
  ['unused', '--inventory', INVENTORY],
  ['modules', '--weight', 'core-hours'],
  ['accounts'],
  ['modules', '--since', '2023-01-01', '--userload-only'],
];

/** A job per job id of the loads, ending an hour after its load: job 1008 (loaded at 23:59:59.999999 before the cut) ends after it. */
function jobsOf(loads: Record<string, unknown>[]): string {
  return loads
    .filter((l) => l.jobid !== null)
    .map((l) => {
      const start = Date.parse(String(l.time));
      const iso = (ms: number): string => new Date(ms).toISOString().replace('Z', '000Z');
      return JSON.stringify({
        cluster: 'alpha',
        jobid: l.jobid,
        job: l.jobid,
        user: l.user,
        account: `acct${Number(l.jobid) % 3}`,
        partition: 'cpu',
        state: 'COMPLETED',
        start: iso(start),
        end: iso(start + 3_600_000),
        elapsed_s: 3600,
        cpus: 1 + (Number(l.jobid) % 4),
        gpus: 0,
        nodes: 1,
      });
    })
    .join('\n');
}

async function load(target: Target, files: string[]): Promise<void> {
  for (const args of [['migrate'], ['--quiet', ...files], ['summarize', '--quiet']]) {
    const r = await run('lmod-load', [...args, '--db', target.url]);
    assert.equal(r.code, 0, r.stderr);
  }
}

async function reports(target: Target): Promise<unknown[][]> {
  const out: unknown[][] = [];
  for (const args of REPORTS) {
    const r = await report(['--db', target.url, '--format', 'ndjson', ...args]);
    assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
    out.push(ndjson(r.stdout));
  }
  return out;
}

async function pruneAgainstKept(make: () => Promise<Target | null>, dir: Target): Promise<void> {
  const loads = ndjson(readFileSync(LOADS, 'utf8')) as Record<string, unknown>[];
  const jobs = jobsOf(loads);
  const file = (name: string, text: string): string => {
    const path = join(dir.url.replace(/^sqlite:/, '').replace(/[^/]*$/, ''), name);
    writeFileSync(path, `${text}\n`);
    return path;
  };
  const allLoads = file('all-loads.ndjson', loads.map((l) => JSON.stringify(l)).join('\n'));
  const allJobs = file('all-jobs.ndjson', jobs);
  const keptLoads = file(
    'kept-loads.ndjson',
    loads
      .filter((l) => String(l.time) >= CUT)
      .map((l) => JSON.stringify(l))
      .join('\n'),
  );
  const keptJobs = file(
    'kept-jobs.ndjson',
    jobs
      .split('\n')
      .filter((j) => JSON.parse(j).end >= CUT)
      .join('\n'),
  );
  const pruned = await make();
  const kept = await make();
  if (pruned === null || kept === null) return;
  try {
    await load(pruned, [allLoads, allJobs]);
    await load(kept, [keptLoads, keptJobs]);
    const dry = await run('lmod-load', ['prune', '--before', CUT, '--dry-run', '--db', pruned.url]);
    assert.equal(dry.code, 0);
    assert.match(dry.stderr, /: would prune 9 loads before 2024-02-01T00:00:00\.000000Z and 8 jobs that ended before it\n$/);
    const r = await run('lmod-load', ['prune', '--before', CUT, '--batch-size', '3', '--summarize', '--db', pruned.url]);
    assert.equal(r.code, 0, r.stderr);
    const lines = r.stderr.trimEnd().split('\n');
    assert.match(lines[0], /: pruned 9 loads before 2024-02-01T00:00:00\.000000Z and 8 jobs that ended before it in 7 transactions, \d+\.\d\d s$/);
    assert.match(lines[1], /: summaries stored \(/);
    assert.deepEqual(await reports(pruned), await reports(kept));
    // Again: nothing left to prune, one transaction per table.
    const again = await run('lmod-load', ['prune', '--before', CUT, '--db', pruned.url]);
    assert.match(again.stderr, /^[^\n]*: pruned 0 loads before \S+ and 0 jobs that ended before it in 2 transactions, \d+\.\d\d s\n$/);
    // 13 calendar months before now: everything of the fixture.
    const month = new Date();
    month.setUTCDate(1);
    month.setUTCMonth(month.getUTCMonth() - 13);
    const old = await run('lmod-load', ['prune', '--older-than', '13mo', '--quiet', '--db', pruned.url]);
    assert.deepEqual([old.code, old.stderr], [0, '']);
    const dryAll = await run('lmod-load', ['prune', '--older-than', '13mo', '--dry-run', '--db', pruned.url]);
    assert.match(dryAll.stderr, new RegExp(`: would prune 0 loads before ${month.toISOString().slice(0, 7)}-\\d\\dT`));
    const [modules, , , , , , , accounts] = await reports(pruned);
    assert.deepEqual([modules, accounts], [[], []]);
  } finally {
    await pruned.drop();
    await kept.drop();
  }
}

test('prune on SQLite: the reports of the pruned database are those of one loaded with only the kept rows', async () => {
  const dir = await sqliteTarget();
  try {
    await pruneAgainstKept(sqliteTarget, dir);
  } finally {
    await dir.drop();
  }
});

test('prune on MySQL/MariaDB: the same', async (t) => {
  const probe = await mysqlTarget('prune_probe');
  if (probe === null) return t.skip('no MySQL server');
  await probe.drop();
  const dir = await sqliteTarget();
  try {
    await pruneAgainstKept(() => mysqlTarget('prune'), dir);
  } finally {
    await dir.drop();
  }
});

test('prune needs exactly one cutoff, and a valid one', async () => {
  for (const [args, message] of [
    [[], 'lmod-load: prune needs one of --before WHEN or --older-than AGE (see lmod-load prune --help)\n'],
    [['--before', '2024-01-01', '--older-than', '1y'], 'lmod-load: prune needs one of --before WHEN or --older-than AGE (see lmod-load prune --help)\n'],
    [['--older-than', '2024-01-01'], 'lmod-load: --older-than "2024-01-01": expected a date like 2025-01-01 or an age like 13mo, 400d, 52w or 1y\n'],
    // Minutes, hours and seconds are no age to prune by: `13m` for `13mo` would delete nearly everything.
    [['--older-than', '13m'], 'lmod-load: --older-than "13m": expected a date like 2025-01-01 or an age like 13mo, 400d, 52w or 1y\n'],
    [['--older-than', '0d'], 'lmod-load: --older-than "0d": expected a date like 2025-01-01 or an age like 13mo, 400d, 52w or 1y\n'],
    [['--before', 'last year'], 'lmod-load: --before "last year": expected a date like 2025-01-01 or an age like 13mo, 400d, 52w or 1y\n'],
  ] as const) {
    const r = await run('lmod-load', ['prune', ...args, '--db', 'sqlite:/nonexistent/never-created.sqlite']);
    assert.deepEqual([r.code, r.stderr, r.stdout], [2, message, ''], args.join(' '));
  }
});
