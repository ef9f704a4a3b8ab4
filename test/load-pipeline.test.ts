import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { openClient } from '../src/db/client';
import { parseDbUrl } from '../src/db/config';
import { cleanEnv, FIXTURES, ROOT, summaryOf, tempDir, withMysql } from './helpers/load';

const RAW = join(FIXTURES, 'raw.log');
const bin = (verb: string): string => join(ROOT, 'bin', `lmod-${verb}.js`);

/** The rows raw.log must become: microseconds exact, `usr123` and `USR123` apart, `nil` kept as logged. */
const EXPECTED = [
  ['2023-04-27 07:22:57.622180', 'usr123', 'node1.domain.com', 'gcc/5.4.0', 'gcc', '5.4.0', '/modules/gcc/5.4.0.lua', 'nil', null],
  ['2023-04-27 07:22:57.622181', 'USR123', 'node1.domain.com', 'GCC/5.4.0', 'GCC', '5.4.0', '/modules/GCC/5.4.0.lua', null, null],
  ['2025-11-05 20:29:32.205883', 'suepeter', 'host', 'beast', 'beast', null, '/path/to/conda/beast.lua', 'interactive', null],
  [
    '2025-11-05 21:00:51.094294',
    'suepeter',
    'client',
    'openjdk/17.0.8.1_1-usumfss',
    'openjdk',
    '17.0.8.1_1-usumfss',
    '/path/to/spack/linux-rocky9-x86_64/Core/openjdk/17.0.8.1_1-usumfss.lua',
    'interactive',
    null,
  ],
];

/** Runs a shell pipeline of the real binaries; its status is lmod-load's (lmod-parse exits 1 on the malformed line). */
async function pipeline(stages: string, url: string): Promise<string> {
  const script = `${stages.replace(/lmod-(\w+)/g, (_, verb: string) => `node ${bin(verb)}`)} --db '${url}'`;
  const { stderr } = await promisify(execFile)('bash', ['-c', script], { env: cleanEnv(), cwd: tempDir('pipe') });
  return stderr;
}

async function rows(url: string): Promise<unknown[][]> {
  const client = await openClient(parseDbUrl(url));
  try {
    const found = await client.query<Record<string, unknown>>(
      'SELECT time, user, host, module, name, version, path, jobid, userload FROM module_loads_flat ORDER BY time',
    );
    return found.map((r) => Object.values(r));
  } finally {
    await client.close();
  }
}

test('raw log -> lmod-parse -> lmod-load into SQLite: exact rows; again: 0 new', async () => {
  const url = `sqlite:${join(tempDir('pipe'), 'lmod.sqlite')}`;
  const first = await pipeline(`lmod-parse --quiet ${RAW} | lmod-load`, url);
  assert.equal(
    first.split('\n')[0],
    `lmod-parse: ${RAW}:5: no user: Apr 27 03:22:59 node1 ModuleUsageTracking: module=gcc/5.4.0 path=/modules/gcc/5.4.0.lua host=node1.domain.com time=16825`,
  );
  assert.equal(summaryOf(first), 'lmod-load: 5 read, 4 new, 1 already present, 0 rejected');
  assert.deepEqual(await rows(url), EXPECTED);
  const again = await pipeline(`lmod-parse --quiet ${RAW} | lmod-load`, url);
  assert.equal(summaryOf(again), 'lmod-load: 5 read, 0 new, 5 already present, 0 rejected');
  assert.deepEqual(await rows(url), EXPECTED);
});

test('raw log -> lmod-parse -> lmod-dedupe -> lmod-load into MySQL: exact rows; again: 0 new', (t) =>
  withMysql(t, 'pipe', true, async (db) => {
    for (const summary of ['4 new, 0 already present', '0 new, 4 already present']) {
      const run = await pipeline(`lmod-parse --quiet ${RAW} | lmod-dedupe --quiet | lmod-load`, db.url);
      assert.equal(summaryOf(run), `lmod-load: 4 read, ${summary}, 0 rejected`);
      assert.deepEqual(await rows(db.url), EXPECTED);
    }
  }));
