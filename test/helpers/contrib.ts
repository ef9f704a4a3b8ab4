import { spawn, spawnSync, type ChildProcess, type SpawnSyncReturns } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync, chmodSync, openSync, closeSync } from 'node:fs';
import { randomInt } from 'node:crypto';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

/** Support for the contrib tests: real Lmod, rsyslogd, logrotate and systemd-analyze. */

export const ROOT = resolve(__dirname, '..', '..', '..');
export const CONTRIB = join(ROOT, 'contrib');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'contrib');

/**
 * CI (CI=true, or LMOD_TEST_REQUIRE_MYSQL=1 as .ci/run sets it) installs the programs with
 * .ci/setup.d/lmod.sh, so there a missing program fails the test; a developer machine
 * without them skips with the reason.
 */
export const REQUIRED = process.env.CI === 'true' || process.env.LMOD_TEST_REQUIRE_MYSQL === '1';

export interface Skippable {
  skip(message?: string): void;
}

/** Skips the test (or fails it under CI) when `reason` is not null; true when it may go on. */
export function requirePrograms(t: Skippable, reason: string | null): boolean {
  if (reason === null) return true;
  if (REQUIRED) throw new Error(`${reason} (required under CI: run .ci/setup.d/lmod.sh)`);
  process.stderr.write(`# NOTICE: ${reason}: test skipped. Install them with .ci/setup.d/lmod.sh.\n`);
  t.skip(reason);
  return false;
}

export function findProgram(candidates: string[]): string | null {
  for (const candidate of candidates) {
    if (candidate.includes('/')) {
      if (existsSync(candidate)) return candidate;
      continue;
    }
    const found = spawnSync('sh', ['-c', 'command -v "$1"', 'sh', candidate], { encoding: 'utf8' });
    if (found.status === 0 && found.stdout.trim() !== '') return found.stdout.trim();
  }
  return null;
}

export const LMOD_INIT = findProgram(['/usr/share/lmod/lmod/init/bash', '/opt/apps/lmod/lmod/init/bash']);
export const RSYSLOGD = findProgram(['/usr/sbin/rsyslogd', 'rsyslogd']);
export const LOGGER = findProgram(['/usr/bin/logger', 'logger']);
export const LOGROTATE = findProgram(['/usr/sbin/logrotate', 'logrotate']);
export const SYSTEMD_ANALYZE = findProgram(['/usr/bin/systemd-analyze', 'systemd-analyze']);

/** The programs named that are missing, as a skip reason, or null. */
export function missing(programs: Record<string, string | null>): string | null {
  const names = Object.entries(programs)
    .filter(([, path]) => path === null)
    .map(([name]) => name);
  return names.length === 0 ? null : `not installed: ${names.join(', ')}`;
}

export function tempDir(label: string): { path: string; remove(): void } {
  const path = mkdtempSync(join(tmpdir(), `lmod-${label}-`));
  // Other users (the throwaway test accounts) must reach modulefiles and the socket.
  chmodSync(path, 0o755);
  return { path, remove: () => rmSync(path, { recursive: true, force: true }) };
}

export function run(command: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): SpawnSyncReturns<string> {
  const result = spawnSync(command, args, { encoding: 'utf8', timeout: 120_000, ...options });
  if (result.error) throw result.error;
  return result;
}

export function lines(text: string): string[] {
  return text.split('\n').filter((line) => line !== '');
}

/** Runs a project CLI (`node bin/lmod-xxx.js`). */
export function cli(verb: string, args: string[], options: { env?: NodeJS.ProcessEnv; cwd?: string; input?: string } = {}): SpawnSyncReturns<string> {
  return run(process.execPath, [join(ROOT, 'bin', `lmod-${verb}.js`), ...args], options);
}

/**
 * A private rsyslogd: its own config, pid file, work directory and imuxsock socket, never the
 * machine's /dev/log. `rules` is rsyslog configuration appended after the input.
 */
export class PrivateRsyslog {
  readonly socket: string;
  private constructor(
    readonly dir: string,
    private readonly child: ChildProcess,
    private readonly output: string,
  ) {
    this.socket = join(dir, 'log.sock');
  }

  static async start(dir: string, rules: string): Promise<PrivateRsyslog> {
    const socket = join(dir, 'log.sock');
    const work = join(dir, 'rsyslog-work');
    run('mkdir', ['-p', work]);
    const conf = join(dir, 'rsyslog.conf');
    writeFileSync(
      conf,
      [`global(workDirectory="${work}")`, 'module(load="imuxsock" SysSock.Use="off")', `input(type="imuxsock" Socket="${socket}")`, rules].join('\n') + '\n',
    );
    const output = join(dir, 'rsyslogd.out');
    const fd = openSync(output, 'w');
    const child = spawn(RSYSLOGD!, ['-n', '-f', conf, '-i', join(dir, 'rsyslogd.pid')], { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    const rsyslog = new PrivateRsyslog(dir, child, output);
    await rsyslog.waitFor(() => existsSync(socket), 'its socket');
    return rsyslog;
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** Waits until `file` holds at least `count` lines and returns them all. */
  async waitForLines(file: string, count: number): Promise<string[]> {
    let found: string[] = [];
    await this.waitFor(() => {
      found = existsSync(file) ? lines(readFileSync(file, 'utf8')) : [];
      return found.length >= count;
    }, `${count} lines in ${file} (have ${found.length})`);
    return found;
  }

  private async waitFor(ready: () => boolean, what: string): Promise<void> {
    for (let i = 0; i < 200; i++) {
      if (ready()) return;
      if (this.child.exitCode !== null) break;
      await sleep(50);
    }
    if (ready()) return;
    const out = existsSync(this.output) ? readFileSync(this.output, 'utf8') : '';
    throw new Error(`rsyslogd: no ${what} after 10 s (exit ${this.child.exitCode}); its output: ${out}`);
  }

  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise((done) => this.child.once('exit', done));
    this.child.kill('SIGTERM');
    await exited;
  }
}

/** The shipped central rule, writing to `file` instead of /var/log/lmod/lmod.log. */
export function centralRule(file: string): string {
  const shipped = readFileSync(join(CONTRIB, 'rsyslog', 'central-lmod.conf'), 'utf8');
  if (!shipped.includes('/var/log/lmod/lmod.log')) throw new Error('central-lmod.conf no longer writes /var/log/lmod/lmod.log');
  return shipped.replaceAll('/var/log/lmod/lmod.log', file);
}

/** `1795913898.112209` (the hook's time=) as lmod-parse's ISO time, from the text alone. */
export function isoFromEpochText(text: string): string {
  const match = /^(\d+)\.(\d{6})$/.exec(text);
  if (!match) throw new Error(`not an epoch with microseconds: ${text}`);
  return new Date(Number(match[1]) * 1000).toISOString().replace(/\.000Z$/, `.${match[2]}Z`);
}

export function escapeRegExp(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}

/** YYYYMMDD of yesterday in local time, as `date -d yesterday +%Y%m%d` says (and lmod-daily asks for). */
export function yesterday(): string {
  return run('date', ['-d', 'yesterday', '+%Y%m%d']).stdout.trim();
}

/** `Key=value` settings of a unit file's section lines (the last one wins, as in systemd). */
export function unitSettings(file: string): Map<string, string> {
  const settings = new Map<string, string>();
  for (const line of lines(readFileSync(file, 'utf8'))) {
    const match = /^([A-Za-z]+)=(.*)$/.exec(line);
    if (match) settings.set(match[1], match[2]);
  }
  return settings;
}

/**
 * Free ports for daemons a test starts: below the kernel's ephemeral range (32768-60999 on Linux), so that no outgoing
 * connection takes one between this check and the daemon's bind; random, so that parallel harnesses rarely pick the
 * same; free on every address, so a daemon may bind any.
 */
export async function freePorts(count: number): Promise<number[]> {
  const ports: number[] = [];
  while (ports.length < count) {
    const port = randomInt(20_000, 32_000);
    if (!ports.includes(port) && (await canBind(port))) ports.push(port);
  }
  return ports;
}

function canBind(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}
