import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { CliError } from '../../src/cli/exit-codes';
import { reportMain } from '../../src/cli/report';
import { createTestDatabase } from './mysql';

/** Paths and process helpers shared by the lmod-report tests. */
export const ROOT = join(__dirname, '..', '..', '..');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'report');
export const LOADS = join(FIXTURES, 'loads.ndjson');

export interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

export function run(bin: 'lmod-load' | 'lmod-report', args: string[], options: { cwd?: string; env?: NodeJS.ProcessEnv } = {}): Promise<Run> {
  const { cwd = ROOT, env = process.env } = options;
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', `${bin}.js`), ...args], { cwd, env, maxBuffer: 64 << 20 }, (err, stdout, stderr) => {
      const code = err === null ? 0 : typeof err.code === 'number' ? err.code : -1;
      resolve({ code, stdout, stderr });
    });
  });
}

export function ndjson(text: string): unknown[] {
  return text
    .split('\n')
    .filter((l) => l !== '')
    .map((l) => JSON.parse(l));
}

/** A database of each dialect for a test file: a temporary SQLite file, and MySQL when a server is there. */
export interface Target {
  dialect: 'sqlite' | 'mysql';
  url: string;
  drop(): Promise<void>;
}

export async function sqliteTarget(): Promise<Target> {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-report-'));
  return { dialect: 'sqlite', url: `sqlite:${join(dir, 'loads.sqlite')}`, drop: async () => rmSync(dir, { recursive: true, force: true }) };
}

export async function mysqlTarget(label: string): Promise<Target | null> {
  const db = await createTestDatabase(label);
  return db === null ? null : { dialect: 'mysql', url: db.url, drop: () => db.drop() };
}

/** Schema and the fixture through the real loader, as an administrator would fill the database. */
export async function loadFixture(url: string, file = LOADS): Promise<void> {
  for (const args of [
    ['migrate', '--db', url],
    ['--quiet', '--db', url, file],
  ]) {
    const r = await run('lmod-load', args);
    if (r.code !== 0) throw new Error(`lmod-load ${args.join(' ')} failed (${r.code}): ${r.stderr}`);
  }
}

/** lmod-report in this process (no node start-up per case): what runCli would print and exit with. */
export async function report(args: string[]): Promise<Run> {
  const chunks = { stdout: [] as string[], stderr: [] as string[] };
  const sink = (into: string[]) => new Writable({ write: (chunk, _enc, done) => (into.push(String(chunk)), done()) });
  let code: number;
  try {
    code = await reportMain(args, { stdout: sink(chunks.stdout), stderr: sink(chunks.stderr) });
  } catch (err) {
    if (!(err instanceof CliError)) throw err;
    if (err.message !== '') chunks.stderr.push(`${err.message}\n`);
    code = err.exitCode;
  }
  return { code, stdout: chunks.stdout.join(''), stderr: chunks.stderr.join('') };
}
