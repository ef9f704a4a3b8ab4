import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import type { TestContext } from 'node:test';
import { createTestDatabase, SKIP_NOTICE, type TestDatabase } from './mysql';

/** Helpers for the lmod-load tests: the real CLI, in a clean directory and environment. */
export const ROOT = join(__dirname, '..', '..', '..');
export const LOAD_BIN = join(ROOT, 'bin', 'lmod-load.js');
export const FIXTURES = join(ROOT, 'test', 'fixtures', 'load');

export interface Run {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** A fresh working directory: no ./.env, and the SQLite default lands here. */
export function tempDir(label: string): string {
  return mkdtempSync(join(tmpdir(), `lmod-load-${label}-`));
}

/** The environment without any DB_* setting, plus `extra`. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('DB_') && !k.startsWith('LMOD_')) env[k] = v;
  return { ...env, ...extra };
}

export interface RunOptions {
  cwd?: string;
  env?: Record<string, string>;
  /** A stream stays open until it ends: a test can hold the input back while it does something to the server. */
  stdin?: string | Buffer | Readable;
  /** Killed (SIGKILL) after this long: a run that hangs fails its test instead of holding it to its timeout. */
  timeoutMs?: number;
}

export function runLoad(args: string[], options: RunOptions = {}): Promise<Run> {
  return runNode(LOAD_BIN, args, options);
}

export function runNode(script: string, args: string[], options: RunOptions = {}): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, ...args], {
      cwd: options.cwd ?? tempDir('cwd'),
      env: cleanEnv(options.env),
      timeout: options.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    child.stdin.on('error', () => undefined);
    if (options.stdin instanceof Readable) options.stdin.pipe(child.stdin);
    else child.stdin.end(options.stdin ?? '');
  });
}

/** A record exactly as the record contract (docs/records.md) has it, with optional overrides. */
export function record(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    time: '2023-04-27T07:22:57.622180Z',
    user: 'alice',
    module: 'gcc/12.2.0',
    name: 'gcc',
    version: '12.2.0',
    path: '/opt/apps/modulefiles/Core/gcc/12.2.0.lua',
    host: 'node001',
    jobid: '4242',
    userload: true,
    cluster: null,
    ...overrides,
  };
}

/** `count` distinct records (microseconds apart) as NDJSON, starting at record number `from`. */
export function manyRecords(count: number, from = 0): string {
  const lines: string[] = [];
  for (let i = from; i < from + count; i++) {
    const micros = String(i % 1_000_000).padStart(6, '0');
    const second = String(Math.floor(i / 1_000_000) % 60).padStart(2, '0');
    const module = `mod${i % 37}/${i % 5}.0`;
    lines.push(
      JSON.stringify(
        record({
          time: `2023-05-01T12:00:${second}.${micros}Z`,
          user: `u${i % 101}`,
          module,
          name: `mod${i % 37}`,
          version: `${i % 5}.0`,
          host: `n${i % 13}`,
          path: null,
        }),
      ),
    );
  }
  return lines.join('\n') + '\n';
}

/** Removes the timing from a summary line: `... in 0.02 s (900 records/s)` -> `...`. */
export function summaryOf(stderr: string): string {
  const line = stderr.trimEnd().split('\n').pop() ?? '';
  return line.replace(/ in \d+\.\d+ s \([\d,]+ records\/s\)$/, '');
}

/** What a run said on stderr, line by line, each without its `lmod-load: mysql://...: ` or `lmod-load: sqlite:...: `. */
export function saidLines(run: Run): string[] {
  return run.stderr
    .trimEnd()
    .split('\n')
    .map((line) => line.replace(/^lmod-load: (?:mysql|sqlite):\S*?: /, ''));
}

/**
 * Runs `body` with a fresh MySQL test database (with the schema when `migrate`), dropped
 * afterwards; skips the test when there is no server.
 */
export async function withMysql(t: TestContext, label: string, migrate: boolean, body: (db: TestDatabase) => Promise<void>): Promise<void> {
  const db = await createTestDatabase(label);
  if (!db) return t.skip(SKIP_NOTICE);
  try {
    if (migrate) {
      const run = await runLoad(['migrate', '--quiet', '--db', db.url]);
      assert.equal(run.code, 0, run.stderr);
    }
    await body(db);
  } finally {
    await db.drop();
  }
}
