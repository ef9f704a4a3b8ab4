import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import { logLines, prng } from '../test/helpers/generate';
import { ALPHABET, mutate } from '../test/helpers/mutate';
import { fmt } from './measure';

/**
 * Hostile input through the real commands: CASES seeded byte-level mutations of log lines (every format) through
 * lmod-parse | lmod-dedupe | lmod-load, and as many mutations of the records straight into lmod-dedupe and lmod-load.
 * Counted: cases, crashes (an exit code other than 0 or 1), stack traces on stderr, and records lost or merged (the
 * rows stored must be exactly the distinct identities of the records the loader accepted).
 */
const CASES = Number(process.env.BENCH_ADVERSARIAL_CASES ?? 100_000);
const ROOT = join(__dirname, '..', '..');
const bin = (verb: string): string => join(ROOT, 'bin', `lmod-${verb}.js`);
const EXTRA = ['\u0000', '\xff', '\ud800', '{"a":[[[[', '\\u0000', '"', '\n'];

function run(verb: string, args: string[], input: string): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [bin(verb), ...args], { input, encoding: 'latin1', maxBuffer: 1 << 30 });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

const traces = (stderr: string): number => stderr.split('\n').filter((l) => /^\s+at .+:\d+:\d+\)?$/.test(l)).length;

/** Loads the records into a fresh SQLite file and checks that the rows are exactly the distinct identities it took. */
function loadAndCheck(dir: string, records: string, label: string, distinct: boolean): { crashes: number; traces: number; lostOrMerged: number } {
  const db = join(dir, `${label}.sqlite`);
  const load = run('load', ['--db', `sqlite:${db}`, '--max-errors', String(10 * CASES)], records);
  const counts = /(\d[\d,]*) read, (\d[\d,]*) new, (\d[\d,]*) already present, (\d[\d,]*) rejected/.exec(load.stderr);
  const [read, added, present, rejected] = (counts?.slice(1) ?? ['0', '0', '0', '0']).map((n) => Number(n.replace(/,/g, '')));
  const rows = Number((new Database(db, { readonly: true }).prepare('SELECT COUNT(*) AS n FROM module_loads').get() as { n: number }).n);
  // Every record read is new, already present or rejected, and new ones are rows. After lmod-dedupe every identity
  // is distinct, so one found present is two records merged.
  const lostOrMerged = counts === null ? 1 : Math.abs(read - added - present - rejected) + Math.abs(rows - added) + (distinct ? present : 0);
  return { crashes: load.code === 0 || load.code === 1 ? 0 : 1, traces: traces(load.stderr), lostOrMerged };
}

function main(): void {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-adversarial-'));
  try {
    const random = prng(2026);
    const alphabet = [...ALPHABET, ...EXTRA];
    const lines = [...logLines({ lines: CASES, seed: 99, variety: true, foreign: 0.01, malformed: 0.01 })].map((line) =>
      random() < 0.9 ? mutate(line, random, alphabet).replace(/\n/g, ' ') : line,
    );
    const log = join(dir, 'mutated.log');
    writeFileSync(log, `${lines.join('\n')}\n`);
    const parse = run('parse', ['--tz', 'UTC', log], '');
    const dedupe = run('dedupe', [], parse.stdout);
    const piped = loadAndCheck(dir, dedupe.stdout, 'piped', true);
    const records = parse.stdout.split('\n').filter((l) => l !== '');
    const mutatedRecords = records.slice(0, CASES).map((r) => mutate(r, random, alphabet).replace(/\n/g, ' '));
    while (mutatedRecords.length < CASES) mutatedRecords.push(mutate(records[mutatedRecords.length % records.length], random, alphabet).replace(/\n/g, ' '));
    const input = `${mutatedRecords.join('\n')}\n`;
    const dedupeDirect = run('dedupe', [], input);
    const direct = loadAndCheck(dir, input, 'direct', false);
    const deduped = loadAndCheck(dir, dedupeDirect.stdout, 'deduped', true);
    const crashes = [parse, dedupe, dedupeDirect].filter((r) => r.code !== 0 && r.code !== 1).length + piped.crashes + direct.crashes + deduped.crashes;
    const stackTraces = [parse, dedupe, dedupeDirect].reduce((n, r) => n + traces(r.stderr), 0) + piped.traces + direct.traces + deduped.traces;
    process.stdout.write(
      `cases: ${fmt(CASES)} mutated log lines through lmod-parse | lmod-dedupe | lmod-load, ${fmt(CASES)} mutated records into lmod-dedupe and lmod-load\n` +
        `records: ${fmt(parse.stdout.split('\n').length - 1)} parsed from the mutated log, exit codes parse ${parse.code}, dedupe ${dedupe.code}, ${dedupeDirect.code}\n` +
        `crashes: ${crashes}   stack traces: ${stackTraces}   records lost or merged: ${piped.lostOrMerged + direct.lostOrMerged + deduped.lostOrMerged}\n`,
    );
    if (crashes + stackTraces + piped.lostOrMerged + direct.lostOrMerged + deduped.lostOrMerged > 0) process.exitCode = 1;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

main();
