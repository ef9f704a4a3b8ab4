import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, lstatSync, mkdirSync, readFileSync, realpathSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { after, before, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import Database from 'better-sqlite3';
import { lines, ROOT, run, tempDir, unitSettings, yesterday } from './helpers/contrib';

/**
 * The package as a site installs it: `npm pack`, then `npm install -g` of the tarball into a
 * prefix of its own, on no checkout. The installed commands and the service's command line
 * (contrib/bin/lmod-daily) then run from that prefix alone, as the systemd unit runs them, where
 * ProtectHome= and PrivateTmp= hide any checkout under /root, /home or /tmp.
 *
 * The install fetches the dependencies from the npm registry (or npm's cache) and builds
 * better-sqlite3 from source where its prebuilt binary cannot be downloaded from GitHub:
 * a minute or two.
 */

interface PackageJson {
  name: string;
  version: string;
  bin: Record<string, string>;
  scripts: Record<string, string>;
}

interface PackResult {
  filename: string;
  size: number;
  unpackedSize: number;
  entryCount: number;
  files: { path: string; size: number; mode: number }[];
}

const PKG = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as PackageJson;
const COMMANDS = ['parse', 'dedupe', 'load', 'report', 'jobs'];
const SERVICE = join(ROOT, 'contrib', 'systemd', 'lmod-tracking.service');

const TMP = tempDir('package');
after(() => TMP.remove());
const PREFIX = join(TMP.path, 'prefix');
const INSTALLED = join(PREFIX, 'lib', 'node_modules', PKG.name);

/** The environment without the npm_* variables `npm test` sets: npm_config_* would configure the nested npm. */
function npmEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([name]) => !/^npm_/i.test(name)));
}

function npm(args: string[], cwd: string, timeout: number): SpawnSyncReturns<string> {
  const result = spawnSync('npm', args, { cwd, env: npmEnv(), encoding: 'utf8', timeout, maxBuffer: 64 * 1024 * 1024 });
  if (result.error) throw result.error;
  return result;
}

/**
 * The unit's PATH with /usr/local/bin, where `npm install -g` puts the commands on the host,
 * being PREFIX/bin; node's own directory is appended when the unit's PATH lacks it (the commands
 * start with `#!/usr/bin/env node`). Nothing of the checkout is on it.
 */
function installedPath(): string {
  const unitPath = /^PATH=(.*)$/.exec(unitSettings(SERVICE).get('Environment') ?? '')?.[1] ?? '';
  assert.ok(unitPath.split(':').includes('/usr/local/bin'), `the unit's PATH holds /usr/local/bin: ${unitPath}`);
  const dirs = unitPath.split(':').map((dir) => (dir === '/usr/local/bin' ? join(PREFIX, 'bin') : dir));
  const nodeDir = dirname(process.execPath);
  if (!dirs.includes(nodeDir)) dirs.push(nodeDir);
  return dirs.join(':');
}

/** The environment of the installed commands: the PATH above, no DB_* settings, no npm. */
function installedEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  return { PATH: installedPath(), ...(process.env.TZ ? { TZ: process.env.TZ } : {}), ...extra };
}

let packed: PackResult;
let tarball: string;

before(() => {
  // --ignore-scripts: `npm pack` would run prepack (rm -rf dist/src && tsc -p .) and prepare, rebuilding
  // dist/ under the other test files that run from it; `npm test` has just built it.
  const pack = npm(['pack', '--json', '--ignore-scripts', '--pack-destination', TMP.path], ROOT, 120_000);
  assert.equal(pack.status, 0, pack.stderr);
  [packed] = JSON.parse(pack.stdout) as PackResult[];
  tarball = join(TMP.path, packed.filename);
  assert.ok(existsSync(tarball), `npm pack wrote ${tarball}`);
});

test('npm pack: the tarball holds the built commands, contrib, docs and the example log, and no tests, benchmarks, sources or source maps', () => {
  assert.equal(packed.filename, `${PKG.name}-${PKG.version}.tgz`);
  const paths = packed.files.map((file) => file.path);
  for (const verb of COMMANDS) {
    assert.ok(paths.includes(`dist/src/cli/${verb}.js`), `dist/src/cli/${verb}.js is packed`);
    assert.ok(paths.includes(`bin/lmod-${verb}.js`), `bin/lmod-${verb}.js is packed`);
  }
  for (const target of Object.values(PKG.bin)) assert.ok(paths.includes(target.replace(/^\.\//, '')), `the bin ${target} is packed`);
  for (const path of ['dist/src/index.js', 'dist/src/index.d.ts', 'contrib/bin/lmod-daily', 'contrib/systemd/lmod-tracking.service', 'examples/lmod.log']) {
    assert.ok(paths.includes(path), `${path} is packed`);
  }
  // The README's links to docs/*.md work in the installed package.
  for (const link of readFileSync(join(ROOT, 'README.md'), 'utf8').matchAll(/\]\((docs\/[^)#]+\.md)/g)) {
    assert.ok(paths.includes(link[1]), `${link[1]}, linked from README.md, is packed`);
  }
  const unwanted = paths.filter(
    (path) =>
      /^(test|bench|src|scripts|\.ci|node_modules|dist\/(test|bench))\//.test(path) ||
      /\.(map|sqlite|tgz)$/.test(path) ||
      /(^|\/)\.env$/.test(path) ||
      path.includes('fixtures'),
  );
  assert.deepEqual(unwanted, [], 'nothing of the tests, benchmarks, sources, builds or local databases');
  const daily = packed.files.find((file) => file.path === 'contrib/bin/lmod-daily');
  assert.ok(daily && (daily.mode & 0o111) !== 0, 'lmod-daily stays executable');
  // npm pack builds dist/ itself first: from scratch (prepack), so no output of a deleted source is left in it.
  assert.match(PKG.scripts.prepack ?? '', /rm -rf dist\/src && tsc -p \./);
});

test('npm install -g of the tarball into a prefix, then its commands and the service command line from there', { timeout: 30 * 60_000 }, async (t) => {
  const started = Date.now();
  mkdirSync(join(PREFIX, 'lib'), { recursive: true });
  // From outside the checkout. No compiler toolchain beyond better-sqlite3's node-gyp fallback:
  // the package's own prepare (tsc) does not run for a tarball, and devDependencies are not installed.
  const install = npm(
    ['install', '--global', '--prefix', PREFIX, '--prefer-offline', '--no-audit', '--no-fund', '--allow-scripts=better-sqlite3', tarball],
    TMP.path,
    25 * 60_000,
  );
  assert.equal(install.status, 0, `${install.stdout}\n${install.stderr}`);
  const seconds = ((Date.now() - started) / 1000).toFixed(0);
  const built = existsSync(join(INSTALLED, 'node_modules', 'better-sqlite3', 'build', 'Release', 'obj.target'));
  t.diagnostic(
    `npm pack: ${packed.entryCount} files, ${packed.size} bytes (${packed.unpackedSize} unpacked); ` +
      `npm install -g: ${seconds} s, better-sqlite3 ${built ? 'built from source' : 'prebuilt'}`,
  );

  await t.test('a copy under the prefix, with the commands and the contrib scripts in PREFIX/bin and no devDependencies', () => {
    assert.ok(!lstatSync(INSTALLED).isSymbolicLink(), 'the package is a copy, not a link to a checkout');
    for (const verb of COMMANDS) {
      const command = join(PREFIX, 'bin', `lmod-${verb}`);
      assert.equal(realpathSync(command), join(realpathSync(INSTALLED), 'bin', `lmod-${verb}.js`));
    }
    // What the systemd units run from /usr/local/bin.
    for (const script of ['lmod-daily', 'lmod-metrics']) {
      assert.equal(realpathSync(join(PREFIX, 'bin', script)), join(realpathSync(INSTALLED), 'contrib', 'bin', script));
    }
    for (const dir of ['src', 'test', 'bench', 'dist/test', 'dist/bench', 'node_modules/typescript', 'node_modules/@biomejs']) {
      assert.ok(!existsSync(join(INSTALLED, dir)), `${dir} is not installed`);
    }
    const found = run('bash', ['-c', 'command -v lmod-parse lmod-dedupe lmod-load lmod-report lmod-jobs'], { env: installedEnv(), cwd: TMP.path });
    assert.deepEqual(
      lines(found.stdout),
      COMMANDS.map((verb) => join(PREFIX, 'bin', `lmod-${verb}`)),
    );
  });

  await t.test('--version, the example pipeline into SQLite, lmod-report and lmod-jobs --help, outside the checkout', () => {
    const work = join(TMP.path, 'work');
    mkdirSync(work);
    const env = installedEnv();
    for (const verb of COMMANDS) {
      const version = run(`lmod-${verb}`, ['--version'], { env, cwd: work });
      assert.equal(version.status, 0, version.stderr);
      assert.equal(version.stdout, `${PKG.version}\n`, `lmod-${verb} --version`);
    }

    // The installed example; no DB_* settings: the SQLite default ./lmod_tracking.sqlite.
    const example = join(INSTALLED, 'examples', 'lmod.log');
    const pipeline = run('bash', ['-c', `lmod-parse "$1" | lmod-dedupe | lmod-load; echo "\${PIPESTATUS[*]}"`, 'bash', example], { env, cwd: work });
    // lmod-parse: 1, for the example's malformed lines; the rest is loaded.
    assert.equal(pipeline.stdout, '1 0 0\n', pipeline.stderr);
    assert.match(pipeline.stderr, /^lmod-parse: 2,506 lines, 2,432 records, 64 skipped, 10 malformed in /m);
    assert.match(pipeline.stderr, /^lmod-dedupe: 2,432 records in, 2,407 out, 25 dropped as duplicates, 0 rejected in /m);
    assert.match(pipeline.stderr, /^lmod-load: 2,407 read, 2,407 new, 0 already present, 0 rejected in /m);
    assert.ok(existsSync(join(work, 'lmod_tracking.sqlite')));

    const report = run('lmod-report', ['modules', '--top', '3'], { env, cwd: work });
    assert.equal(report.status, 0, report.stderr);
    const table = lines(report.stdout);
    assert.equal(table.length, 5, report.stdout);
    assert.match(table[0], /^name +versions +loads +users +hosts /);
    assert.deepEqual(
      table.slice(2).map((row) => row.split(/ +/)[0]),
      ['gcc', 'openmpi', 'cuda'],
    );
    assert.match(table[2], /^gcc +7 +378 +56 +47 /);

    const help = run('lmod-jobs', ['--help'], { env, cwd: work });
    assert.equal(help.status, 0, help.stderr);
    assert.match(help.stdout, /^Usage: lmod-jobs /);
  });

  await t.test("the service's ExecStart, lmod-daily as installed, loads yesterday's archive", () => {
    const unit = unitSettings(SERVICE);
    assert.equal(unit.get('ExecStart'), '/usr/local/bin/lmod-daily', 'the test maps this path to PREFIX/bin/lmod-daily');
    const daily = join(PREFIX, 'bin', 'lmod-daily');
    assert.ok((statSync(daily).mode & 0o111) !== 0, 'the installed lmod-daily is executable');

    const logs = join(TMP.path, 'log');
    const state = join(TMP.path, 'state'); // the unit's WorkingDirectory=/var/lib/lmod-tracking
    mkdirSync(logs);
    mkdirSync(state);
    writeFileSync(join(logs, `lmod.log-${yesterday()}.gz`), gzipSync(readFileSync(join(INSTALLED, 'examples', 'lmod.log'))));
    // No EnvironmentFile settings: the SQLite default in the working directory. No Slurm.
    const r = run(daily, [], { env: installedEnv({ LMOD_LOG_DIR: logs, LMOD_TRACKING_SACCT: 'no' }), cwd: state });
    // 1: the example's malformed lines (their reasons on stderr), everything else loaded.
    assert.equal(r.status, 1, r.stderr);
    assert.match(r.stderr, /^lmod-parse: 2,506 lines, 2,432 records, 64 skipped, 10 malformed in /m);
    assert.match(r.stderr, /^lmod-load: 2,407 read, 2,407 new, 0 already present, 0 rejected in /m);
    assert.match(r.stderr, /^lmod-load: sqlite:\.\/lmod_tracking\.sqlite: summaries stored \(/m);

    const db = new Database(join(state, 'lmod_tracking.sqlite'), { readonly: true });
    try {
      const { n } = db.prepare('SELECT COUNT(*) AS n FROM module_loads_flat').get() as { n: number };
      assert.equal(n, 2407);
    } finally {
      db.close();
    }
  });
});
