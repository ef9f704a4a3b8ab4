import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { type AddressInfo, createServer, type Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, test } from 'node:test';

/** What every command shares: the conventions of docs/operations.md and the password rule. */
const BIN = join(__dirname, '..', '..', 'bin');
const TMP = mkdtempSync(join(tmpdir(), 'lmod-cli-'));
after(() => rmSync(TMP, { recursive: true, force: true }));

const RAW = 'Apr 27 03:22:57 node1 ModuleUsageTracking: user=alice module=gcc/12.2.0 path=/m/gcc host=n1 time=1682580178.901394\n';
const RECORD =
  '{"time":"2023-04-27T07:22:58.901394Z","user":"alice","module":"gcc/12.2.0","name":"gcc","version":"12.2.0","path":"/m/gcc","host":"n1","jobid":null,"userload":null,"cluster":null}\n';

function run(verb: string, args: string[], input: string) {
  return spawnSync(process.execPath, [join(BIN, `lmod-${verb}.js`), ...args], { input, encoding: 'utf8', cwd: TMP });
}

test('stdin named twice is read once; the second `-` is empty and the run ends normally', () => {
  const parse = run('parse', ['-', '-'], RAW);
  assert.equal(parse.stdout, RECORD);
  assert.match(parse.stderr, /^lmod-parse: 1 lines, 1 records, 0 skipped, 0 malformed in /);
  assert.equal(parse.status, 0);
  const dedupe = run('dedupe', ['-', '-'], RECORD);
  assert.equal(dedupe.stdout, RECORD);
  assert.equal(dedupe.status, 0);
  const load = run('load', ['--db', `sqlite:${join(TMP, 'twice.sqlite')}`, '-', '-'], RECORD);
  assert.match(load.stderr, /lmod-load: 1 read, 1 new, 0 already present, 0 rejected in /);
  assert.equal(load.status, 0);
});

for (const verb of ['load', 'report']) {
  test(`lmod-${verb}: a password given in --db does not show in the process list`, async () => {
    // A server that accepts and never answers keeps the command waiting, with its title set.
    const sockets: Socket[] = [];
    const silent = createServer((s) => sockets.push(s));
    await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
    const port = (silent.address() as AddressInfo).port;
    const args = verb === 'report' ? ['modules'] : [];
    const child = spawn(process.execPath, [join(BIN, `lmod-${verb}.js`), ...args, '--db', `mysql://lmod:Pa55word-xyz@127.0.0.1:${port}/lmod`], {
      stdio: 'ignore',
    });
    try {
      while (sockets.length === 0) await new Promise((r) => setTimeout(r, 20));
      const cmdline = readFileSync(`/proc/${child.pid}/cmdline`, 'utf8');
      assert.equal(cmdline.replace(/\0/g, ' ').trim(), `lmod-${verb}`);
    } finally {
      child.kill('SIGKILL');
      for (const s of sockets) s.destroy();
      silent.close();
    }
  });
}

test('a record lmod-parse writes from a long line (70 kB) passes lmod-dedupe and lmod-load', () => {
  const path = `/${'x'.repeat(70_000)}`;
  const parse = run('parse', ['-q', '--max-line', '200000'], RAW.replace('path=/m/gcc', `path=${path}`));
  assert.equal(parse.status, 0);
  assert.ok(parse.stdout.length > 70_000);
  const dedupe = run('dedupe', ['-q'], parse.stdout);
  assert.equal(dedupe.stderr, '');
  assert.equal(dedupe.stdout, parse.stdout);
  // The column holds 768 characters: the loader refuses the path by name, not the line by length.
  const load = run('load', ['-q', '--db', `sqlite:${join(TMP, 'long.sqlite')}`], dedupe.stdout);
  assert.equal(load.stderr, 'lmod-load: stdin:1: path is longer than 768 characters\n');
  assert.equal(load.status, 1);
});

/** Runs a shell command with stderr on a terminal (util-linux `script`), returning what it drew. */
function onTerminal(command: string): string {
  return spawnSync('script', ['-qec', command, '/dev/null'], { encoding: 'utf8', cwd: TMP }).stdout;
}

test('on a terminal a progress line is drawn every second and erased before the summary; -q draws none', (t) => {
  if (spawnSync('script', ['--version']).status !== 0) return t.skip('util-linux script is not installed');
  const records = join(TMP, 'progress.ndjson');
  const slow = (what: string): string => `(cat ${what}; sleep 1.3)`;
  const raw = join(__dirname, '..', '..', 'examples', 'lmod.log');
  spawnSync('bash', ['-c', `node ${join(BIN, 'lmod-parse.js')} -q ${raw} > ${records}`]);
  const cases: [string, string, RegExp][] = [
    [
      'parse',
      `(head -80 ${raw}; sleep 1.3) | node ${join(BIN, 'lmod-parse.js')} >/dev/null`,
      /^\r\x1b\[Klmod-parse: 80 lines, [\d,]+ lines\/s\r\x1b\[Klmod-parse: 80 lines, 78 records, 2 skipped, 0 malformed in /,
    ],
    [
      'dedupe',
      `${slow(records)} | node ${join(BIN, 'lmod-dedupe.js')} >/dev/null`,
      /^\r\x1b\[Klmod-dedupe: 2,432 records, [\d,]+ records\/s\r\x1b\[Klmod-dedupe: 2,432 records in, 2,407 out/,
    ],
    [
      'load',
      `${slow(records)} | node ${join(BIN, 'lmod-load.js')} --db sqlite:${join(TMP, 'progress.sqlite')}`,
      /^\r\x1b\[Klmod-load: 2,432 records, [\d,]+ records\/s\r\x1b\[Klmod-load: 2,432 read, 2,407 new, 25 already present/,
    ],
  ];
  for (const [verb, command, drawn] of cases) {
    assert.match(onTerminal(command), drawn, verb);
    assert.doesNotMatch(onTerminal(command.replace(`lmod-${verb}.js`, `lmod-${verb}.js -q`)), /\x1b\[K/, `${verb} -q`);
  }
});

test('lmod-load: subcommands are commander commands; a mistyped one is an unknown command that creates nothing', () => {
  const dir = mkdtempSync(join(TMP, 'subcommand-'));
  const load = (args: string[]) => spawnSync(process.execPath, [join(BIN, 'lmod-load.js'), ...args], { input: '', encoding: 'utf8', cwd: dir });
  const typo = load(['migrat']);
  assert.equal(typo.stderr, "lmod-load: unknown command 'migrat' (Did you mean migrate?) (see lmod-load --help)\n");
  assert.equal(typo.status, 2);
  assert.equal(typo.stdout, '');
  assert.deepEqual(readdirSync(dir), []);
  const option = load(['--bogus']);
  assert.equal(option.stderr, "lmod-load: unknown option '--bogus' (see lmod-load --help)\n");
  assert.equal(option.status, 2);
  const help = load(['--help']);
  assert.match(help.stdout, /^Usage: lmod-load \[options\] \[files\.\.\.\]\n {7}lmod-load migrate \[--sql\] [^\n]*\n {7}lmod-load summarize /);
  assert.equal(load(['summarize', '--full']).stderr, "lmod-load: unknown option '--full' (see lmod-load --help)\n");
  assert.match(load(['--db', 'sqlite:./s.sqlite', 'migrate']).stderr, /^lmod-load: sqlite:\.\/s\.sqlite: schema migrated from v0 to v\d+\n$/);
});

test('lmod-load given the raw log stops at once with exit 2 and says to run lmod-parse first', () => {
  const raw = join(__dirname, '..', '..', 'examples', 'lmod.log');
  const load = spawnSync(process.execPath, [join(BIN, 'lmod-load.js'), '--db', `sqlite:${join(TMP, 'raw.sqlite')}`, raw], { encoding: 'utf8', cwd: TMP });
  assert.equal(load.status, 2);
  assert.equal(load.stdout, '');
  assert.match(load.stderr, /^lmod-load: 1 read, 0 new, 0 already present, 1 rejected in [\d.]+ s \([\d,]+ records\/s\)\n/);
  assert.equal(load.stderr.split('\n').at(-2), `lmod-load: ${raw}:1: this looks like a log file: run it through lmod-parse first`);
});

test('lmod-load under timeout in a terminal, with no input named: ends at once with exit 2, never stays stopped', (t) => {
  if (spawnSync('script', ['--version']).status !== 0) return t.skip('util-linux script is not installed');
  const bin = join(BIN, 'lmod-load.js');
  const started = Date.now();
  const drawn = onTerminal(`timeout 20 node ${bin} --db sqlite:${join(TMP, 'tty.sqlite')}; echo "exit $?"`);
  assert.ok(Date.now() - started < 15_000, 'it did not wait for the timeout');
  assert.equal(drawn.replace(/\r/g, ''), 'lmod-load: stdin is a terminal this background process may not read: name the input files or pipe them in\nexit 2\n');
});
