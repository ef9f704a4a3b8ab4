import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { SACCT_FORMAT } from '../src/jobs/sacct-header';
import {
  CONTRIB,
  centralRule,
  cli,
  FIXTURES,
  LMOD_INIT,
  LOGGER,
  lines,
  missing,
  PrivateRsyslog,
  RSYSLOGD,
  requirePrograms,
  ROOT,
  run,
  tempDir,
} from './helpers/contrib';
import { createTestDatabase } from './helpers/mysql';
import { SLURM_MISSING, type Slurm, startSlurm } from './helpers/slurm';

/**
 * The whole way with a real Slurm (slurmctld, slurmd, slurmdbd on the test MariaDB): jobs that `module load` through
 * the shipped hook into a private rsyslogd, their accounting through sacct | lmod-jobs | lmod-load, and the report's
 * core-hours per module, exact to the core-second; then contrib/bin/lmod-daily doing the same on its own.
 */
const hours = (seconds: number): number => Math.round(seconds / 3.6) / 1000;

interface Allocation {
  job: string;
  elapsed: number;
  cpus: number;
  gpus: number;
}

/** sacct's allocation lines by JobIDRaw, read here without lmod-jobs: the test's own account of the jobs. */
function allocations(text: string): Map<string, Allocation> {
  const [header, ...rows] = lines(text);
  const at = (name: string): number => header.split('|').indexOf(name);
  return new Map(
    rows.map((row) => {
      const f = row.split('|');
      const gpus = /gres\/gpu=(\d+)/.exec(f[at('AllocTRES')])?.[1] ?? '0';
      return [f[at('JobIDRaw')], { job: f[at('JobID')], elapsed: Number(f[at('ElapsedRaw')]), cpus: Number(f[at('AllocCPUS')]), gpus: Number(gpus) }];
    }),
  );
}

function report(db: string, args: string[], cwd = ROOT): unknown[] {
  const r = cli('report', ['--db', db, '--format', 'ndjson', ...args], { cwd });
  assert.equal(r.status, 0, r.stderr);
  return lines(r.stdout).map((l) => JSON.parse(l));
}

const pick = (rows: unknown[], keys: string[]) => rows.map((r) => Object.fromEntries(keys.map((k) => [k, (r as Record<string, unknown>)[k]])));

test('a real Slurm: jobs load modules through the hook; sacct | lmod-jobs | lmod-load; exact core-hours per module and account', async (t) => {
  if (!requirePrograms(t, SLURM_MISSING ?? missing({ 'lmod (Debian package)': LMOD_INIT, rsyslogd: RSYSLOGD, logger: LOGGER }))) return;
  const db = await createTestDatabase('slurm');
  if (db === null) return t.skip('slurmdbd needs the MySQL server');
  await db.drop();
  const tmp = tempDir('slurm');
  let slurm: Slurm | undefined;
  let rsyslog: PrivateRsyslog | undefined;
  try {
    const modulepath = join(tmp.path, 'modulefiles');
    const hookDir = join(tmp.path, 'lmod');
    cpSync(join(FIXTURES, 'modulefiles'), modulepath, { recursive: true });
    mkdirSync(hookDir);
    copyFileSync(join(CONTRIB, 'lmod', 'SitePackage.lua'), join(hookDir, 'SitePackage.lua'));
    const logFile = join(tmp.path, 'out', 'lmod.log');
    rsyslog = await PrivateRsyslog.start(tmp.path, centralRule(logFile));
    const socket = rsyslog.socket;
    slurm = await startSlurm({ cluster: 'lmodtest', account: 'physics', users: ['root'] });

    const loads = (modules: string, seconds: number): string =>
      [
        '#!/bin/bash',
        `source ${LMOD_INIT} >/dev/null 2>&1`,
        `export LMOD_PACKAGE_PATH=${hookDir} LMOD_TRACKING_SOCKET=${socket} MODULEPATH=${modulepath}`,
        modules === '' ? '' : `module load ${modules} || exit 3`,
        `sleep ${seconds}`,
      ].join('\n');
    const batch = slurm.sbatch(['--cpus-per-task=2'], { script: loads('tool/1.0', 3) });
    const array = slurm.sbatch(['--array=1-2'], { script: loads('lib/2.0', 2) });
    const gpu = slurm.sbatch([`--gres=gpu:1`], { script: loads('', 2) });
    // A load on the login node, outside any job.
    const login = run('bash', ['-c', loads('tool/1.0', 0)], { env: { PATH: '/usr/bin:/bin', HOME: tmp.path, USER: 'root' } });
    assert.equal(login.status, 0, login.stderr);
    await slurm.waitFor([batch, array, gpu]);
    await rsyslog.waitForLines(logFile, 6);

    const sacct = slurm.sacct(['--allusers', '--allocations', '--parsable2', '--starttime=2020-01-01', `--format=${SACCT_FORMAT}`]);
    const jobs = allocations(sacct);
    const raw = (job: string): string => [...jobs].find(([, a]) => a.job === job)![0];
    const [b, t1, t2, g] = [raw(batch), raw(`${array}_1`), raw(`${array}_2`), raw(gpu)].map((id) => jobs.get(id)!);
    assert.deepEqual([b.cpus, t1.cpus, g.gpus], [2, 1, 1]);

    // The records: in a job with its id and cluster, on the login node with neither.
    const parsed = cli('parse', ['--quiet', logFile]);
    assert.equal(parsed.status, 0, parsed.stderr);
    const records = lines(parsed.stdout).map((l) => JSON.parse(l) as Record<string, unknown>);
    assert.deepEqual(
      pick(records, ['module', 'jobid', 'cluster']).sort((x, y) => `${x.jobid}${x.module}`.localeCompare(`${y.jobid}${y.module}`)),
      [
        ...[
          { module: 'lib/2.0', jobid: raw(batch), cluster: 'lmodtest' },
          { module: 'tool/1.0', jobid: raw(batch), cluster: 'lmodtest' },
          { module: 'lib/2.0', jobid: raw(`${array}_1`), cluster: 'lmodtest' },
          { module: 'lib/2.0', jobid: raw(`${array}_2`), cluster: 'lmodtest' },
        ].sort((x, y) => `${x.jobid}${x.module}`.localeCompare(`${y.jobid}${y.module}`)),
        { module: 'lib/2.0', jobid: null, cluster: null },
        { module: 'tool/1.0', jobid: null, cluster: null },
      ],
    );

    const url = `sqlite:${join(tmp.path, 'db.sqlite')}`;
    const ndjson = join(tmp.path, 'loads.ndjson');
    writeFileSync(ndjson, parsed.stdout);
    const sacctFile = join(tmp.path, 'sacct.txt');
    writeFileSync(sacctFile, sacct);
    const jobRecords = cli('jobs', ['--quiet', sacctFile]);
    assert.equal(jobRecords.status, 0, jobRecords.stderr);
    assert.equal(lines(jobRecords.stdout).length, 4);
    const jobsFile = join(tmp.path, 'jobs.ndjson');
    writeFileSync(jobsFile, jobRecords.stdout);
    const loaded = cli('load', ['--db', url, ndjson, jobsFile]);
    assert.equal(loaded.status, 0, loaded.stderr);
    assert.match(loaded.stderr, /: 10 read, 6 new, 0 already present, 0 rejected, 4 jobs stored, 0 jobs unchanged in /);

    const expected = [
      { name: 'lib', jobs: 3, core_hours: hours(2 * b.elapsed + t1.elapsed + t2.elapsed), gpu_hours: 0, loads: 4, users: 1 },
      { name: 'tool', jobs: 1, core_hours: hours(2 * b.elapsed), gpu_hours: 0, loads: 2, users: 1 },
    ].sort((x, y) => y.core_hours - x.core_hours);
    const keys = ['name', 'jobs', 'core_hours', 'gpu_hours', 'loads', 'users'];
    assert.deepEqual(pick(report(url, ['modules', '--weight', 'core-hours']), keys), expected);
    const account = {
      account: 'physics',
      jobs: 4,
      core_hours: hours(2 * b.elapsed + t1.elapsed + t2.elapsed + g.elapsed),
      gpu_hours: hours(g.elapsed),
      users: 1,
    };
    assert.deepEqual(pick(report(url, ['accounts']), Object.keys(account)), [account]);
    t.diagnostic(
      `jobs ${raw(batch)}, ${raw(`${array}_1`)}, ${raw(`${array}_2`)}, ${raw(gpu)}: elapsed ${b.elapsed}, ${t1.elapsed}, ${t2.elapsed}, ${g.elapsed} s`,
    );

    // lmod-daily for today: the archive and the day's jobs, into the SQLite default of its working directory.
    const day = new Date().toISOString().slice(0, 10);
    const logs = join(tmp.path, 'logs');
    mkdirSync(logs);
    writeFileSync(join(logs, `lmod.log-${day.replaceAll('-', '')}.gz`), gzipSync(readFileSync(logFile)));
    const bin = join(tmp.path, 'bin');
    mkdirSync(bin);
    for (const verb of ['parse', 'dedupe', 'load', 'jobs']) symlinkSync(join(ROOT, 'bin', `lmod-${verb}.js`), join(bin, `lmod-${verb}`));
    const work = join(tmp.path, 'work');
    mkdirSync(work);
    const daily = run(join(CONTRIB, 'bin', 'lmod-daily'), [], {
      cwd: work,
      env: { ...slurm.env, PATH: `${bin}:/usr/bin:/bin`, LMOD_LOG_DIR: logs, LMOD_DAILY_DAY: day },
    });
    assert.equal(daily.status, 0, daily.stderr);
    assert.match(daily.stderr, /^lmod-jobs: 5 lines, 4 jobs, 0 steps, 1 skipped, 0 malformed in /m);
    assert.match(daily.stderr, /: summaries stored \(/);
    assert.deepEqual(pick(report('sqlite:lmod_tracking.sqlite', ['modules', '--weight', 'core-hours'], work), keys), expected);
  } finally {
    await slurm?.stop();
    await rsyslog?.stop();
    tmp.remove();
  }
});
