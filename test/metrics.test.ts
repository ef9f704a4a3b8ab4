import assert from 'node:assert/strict';
import { mkdirSync, readdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { test } from 'node:test';
import { formatMetrics } from '../src/report/metrics';
import { CONTRIB, requirePrograms, ROOT, run, tempDir } from './helpers/contrib';
import { parseSamples, PROMETHEUS_MISSING, promtoolCheckMetrics, startNodeExporter } from './helpers/prometheus';
import { FIXTURES as REPORT_FIXTURES, report, run as runCli } from './helpers/report';

/**
 * `--format openmetrics` checked by Prometheus' own tools: `promtool check metrics` finds nothing to say, and a real
 * node_exporter serves the files contrib/bin/lmod-metrics writes, with the exact values of the jobs fixture.
 */
const JOBS_FIXTURES = join(REPORT_FIXTURES, '..', 'jobs-report');
const NOW = new Date('2026-11-05T00:00:00Z');

test('formatMetrics: families with HELP and TYPE, label values escaped, # EOF; families without a column left out', () => {
  const table = {
    title: 'Top modules',
    columns: ['name', 'versions', 'loads', 'users', 'hosts', 'first_load', 'last_load'].map((key) => ({ key, label: key })),
    rows: [{ name: 'odd "quoted" C:\\path\nline2', versions: 1, loads: 2, users: 1, hosts: 1, first_load: null, last_load: '2026-11-04T23:59:00.000000Z' }],
  };
  const name = 'name="odd \\"quoted\\" C:\\\\path\\nline2"';
  assert.equal(
    formatMetrics('modules', table, NOW),
    [
      '# HELP lmod_module_users Distinct users who loaded the module in the report period.',
      '# TYPE lmod_module_users gauge',
      `lmod_module_users{${name}} 1`,
      '# HELP lmod_module_loads Loads of the module in the report period.',
      '# TYPE lmod_module_loads gauge',
      `lmod_module_loads{${name}} 2`,
      '# HELP lmod_module_hosts Distinct hosts the module was loaded on in the report period.',
      '# TYPE lmod_module_hosts gauge',
      `lmod_module_hosts{${name}} 1`,
      '# HELP lmod_module_last_load_timestamp_seconds Unix time of the last load of the module.',
      '# TYPE lmod_module_last_load_timestamp_seconds gauge',
      `lmod_module_last_load_timestamp_seconds{${name}} 1793836740`,
      '# HELP lmod_module_seconds_since_last_load Seconds from the last load of the module to the report.',
      '# TYPE lmod_module_seconds_since_last_load gauge',
      `lmod_module_seconds_since_last_load{${name}} 60`,
      '# EOF',
      '',
    ].join('\n'),
  );
});

test('metrics of modules, users and accounts pass promtool, and node_exporter serves what lmod-metrics writes', async (t) => {
  if (!requirePrograms(t, PROMETHEUS_MISSING)) return;
  const tmp = tempDir('metrics');
  let exporter: Awaited<ReturnType<typeof startNodeExporter>> | undefined;
  try {
    const db = `sqlite:${join(tmp.path, 'lmod_tracking.sqlite')}`;
    const loaded = await runCli('lmod-load', ['--quiet', '--db', db, join(JOBS_FIXTURES, 'loads.ndjson'), join(JOBS_FIXTURES, 'jobs.ndjson')]);
    assert.equal(loaded.code, 0, loaded.stderr);
    for (const kind of ['modules', 'users', 'accounts']) {
      const r = await report(['--db', db, '--format', 'openmetrics', kind]);
      assert.equal(r.code, 0, r.stderr);
      assert.deepEqual(promtoolCheckMetrics(r.stdout), { status: 0, output: '' }, kind);
    }

    // The shipped script, as its timer runs it, into a textfile directory.
    const bin = join(tmp.path, 'bin');
    mkdirSync(bin);
    symlinkSync(join(ROOT, 'bin', 'lmod-report.js'), join(bin, 'lmod-report'));
    const textfiles = join(tmp.path, 'textfile');
    mkdirSync(textfiles);
    const written = run(join(CONTRIB, 'bin', 'lmod-metrics'), [textfiles], {
      cwd: tmp.path,
      env: { PATH: `${bin}:/usr/bin:/bin`, LMOD_METRICS_SINCE: '' },
    });
    assert.equal(written.status, 0, written.stderr);
    assert.deepEqual(readdirSync(textfiles).sort(), ['lmod_accounts.prom', 'lmod_modules.prom', 'lmod_users.prom']);

    exporter = await startNodeExporter(textfiles);
    const scraped = await exporter.scrape();
    assert.deepEqual(promtoolCheckMetrics(scraped), { status: 0, output: '' });
    const value = (name: string, labels: Record<string, string>): number | undefined =>
      parseSamples(scraped).find((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value;
    assert.equal(value('node_textfile_scrape_error', {}), 0);
    assert.doesNotMatch(exporter.log(), /level=error/);
    // python: 3 users, 3 loads, 3 jobs of 30 core-hours and 4 GPU-hours, last loaded 2026-11-04T08:00:00Z.
    assert.equal(value('lmod_module_users', { name: 'python' }), 3);
    assert.equal(value('lmod_module_loads', { name: 'python' }), 3);
    assert.equal(value('lmod_module_jobs', { name: 'python' }), 3);
    assert.equal(value('lmod_module_core_seconds', { name: 'python' }), 30 * 3600);
    assert.equal(value('lmod_module_gpu_seconds', { name: 'python' }), 4 * 3600);
    assert.equal(value('lmod_module_last_load_timestamp_seconds', { name: 'python' }), Date.parse('2026-11-04T08:00:00Z') / 1000);
    assert.equal(value('lmod_module_jobs', { name: 'vim' }), 0);
    assert.equal(value('lmod_user_loads', { user: 'ann' }), 3);
    assert.equal(value('lmod_account_core_seconds', { account: 'chem' }), 26 * 3600);
    assert.equal(value('lmod_account_users', { account: 'physics' }), 2);
  } finally {
    await exporter?.stop();
    tmp.remove();
  }
});

test('--format openmetrics applies to modules, users and accounts only', async () => {
  assert.deepEqual(await report(['trend', '--format', 'openmetrics']), {
    code: 2,
    stdout: '',
    stderr: 'lmod-report: --format openmetrics applies to modules, users, accounts only (see lmod-report --help)\n',
  });
});
