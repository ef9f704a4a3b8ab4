import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { JobRow, LoadRow } from '../../src/db/row';
import type { BatchResult, LoadStore } from '../../src/db/store';
import { Loader } from '../../src/load/loader';
import { isTransient, withRetry } from '../../src/db/retry';
import { layoutRow } from '../../src/load/layout-row';
import { toRow } from '../../src/load/validate';
import { prng } from '../helpers/generate';
import { ALPHABET, mutate } from '../helpers/mutate';
import { parsedRecords } from '../helpers/records';
import { record } from '../helpers/load';

/** A store that keeps what it is given, in memory, with the loader's identity semantics. */
class MemoryStore implements LoadStore {
  readonly dialect = 'sqlite';
  readonly batches: number[] = [];
  readonly keys = new Set<string>();
  readonly jobs: JobRow[] = [];
  constructor(
    readonly maxBatchBytes: number,
    readonly maxInFlight: number,
    private readonly refuse: (row: LoadRow) => Error | null = () => null,
  ) {}

  async loadBatch(rows: LoadRow[]): Promise<BatchResult> {
    for (const row of rows) {
      const err = this.refuse(row);
      if (err) throw err;
    }
    this.batches.push(rows.length);
    let inserted = 0;
    for (const r of rows) {
      const key = `${r.time}|${r.user}|${r.host}|${r.module}`;
      if (!this.keys.has(key)) inserted++;
      this.keys.add(key);
    }
    return { inserted, present: rows.length - inserted };
  }

  async loadJobs(rows: JobRow[]): Promise<BatchResult> {
    this.jobs.push(...rows);
    return { inserted: rows.length, present: 0 };
  }
}

function lines(count: number, extra: (i: number) => Record<string, unknown> = () => ({})): Buffer {
  const out: string[] = [];
  for (let i = 0; i < count; i++) out.push(`${JSON.stringify(record({ time: `2023-05-01T00:00:00.${String(i).padStart(6, '0')}Z`, ...extra(i) }))}\n`);
  return Buffer.from(out.join(''));
}

/** One input into the loader, as the input loop gives it, to the end of the load. */
async function feed(sink: Loader, bytes: Buffer): Promise<void> {
  sink.write('in.ndjson', bytes);
  sink.end();
  await sink.flush();
  await sink.finish();
}

function sinkFor(store: LoadStore, batchRows: number, batchBytes: number, messages: string[] = []): Loader {
  return new Loader({
    store,
    batchRows,
    batchBytes,
    maxLineLength: 1 << 20,
    onReject: (source, line, reason) => messages.push(`lmod-load: ${source}:${line}: ${reason}\n`),
    retry: { retries: 3, baseDelayMs: 1, maxDelayMs: 1 },
  });
}

test('batches are capped by rows and by bytes', async () => {
  const byRows = new MemoryStore(Infinity, 2);
  const sink = sinkFor(byRows, 4, Infinity);
  await feed(sink, lines(10));
  assert.deepEqual(byRows.batches, [4, 4, 2]);
  assert.deepEqual(sink.counts, { read: 10, inserted: 10, present: 0, rejected: 0, unloaded: 0, jobsStored: 0, jobsPresent: 0 });

  // Each row with a 1,000-character extra is bounded at 64 + 3 * 1,010 bytes.
  const byBytes = new MemoryStore(Infinity, 1);
  const big = sinkFor(byBytes, 100, 7000);
  await feed(
    big,
    lines(5, () => ({ extra: { note: 'x'.repeat(1000) } })),
  );
  assert.deepEqual(byBytes.batches, [2, 2, 1]);
});

test('a record the server refuses is found by splitting its batch; the rest loads', async () => {
  const refusing = new MemoryStore(Infinity, 1, (row) =>
    row.user === 'mallory' ? Object.assign(new Error("Data too long for column 'name' at row 1"), { code: 'ER_DATA_TOO_LONG' }) : null,
  );
  const messages: string[] = [];
  const sink = sinkFor(refusing, 8, Infinity, messages);
  await feed(
    sink,
    lines(8, (i) => (i === 5 ? { user: 'mallory' } : {})),
  );
  assert.deepEqual(messages, ["lmod-load: in.ndjson:6: refused by the database: Data too long for column 'name' at row 1\n"]);
  assert.deepEqual(sink.counts, { read: 8, inserted: 7, present: 0, rejected: 1, unloaded: 0, jobsStored: 0, jobsPresent: 0 });
  assert.deepEqual(refusing.batches, [4, 1, 2]);
});

test('withRetry retries transient errors with backoff, and no others', async () => {
  let calls = 0;
  const delays: number[] = [];
  const result = await withRetry(
    async () => {
      if (++calls < 3) throw Object.assign(new Error('Deadlock found'), { code: 'ER_LOCK_DEADLOCK' });
      return 'done';
    },
    { retries: 5, baseDelayMs: 1, maxDelayMs: 3, onRetry: (_err, _n, delay) => delays.push(delay) },
  );
  assert.deepEqual([result, calls, delays], ['done', 3, [1, 2]]);

  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw Object.assign(new Error('lost'), { code: 'PROTOCOL_CONNECTION_LOST' });
      },
      { retries: 2, baseDelayMs: 1, maxDelayMs: 1 },
    ),
    { message: 'lost' },
  );
  assert.equal(calls, 3);

  calls = 0;
  await assert.rejects(
    withRetry(
      async () => {
        calls++;
        throw Object.assign(new Error("Table 'module_loads' doesn't exist"), { code: 'ER_NO_SUCH_TABLE' });
      },
      { retries: 2, baseDelayMs: 1, maxDelayMs: 1 },
    ),
    { code: 'ER_NO_SUCH_TABLE' },
  );
  assert.equal(calls, 1);
  assert.equal(isTransient(Object.assign(new Error('x'), { fatal: true })), true);
  assert.equal(isTransient(null), false);
});

test('toRow: the database shape of a contract record', () => {
  assert.deepEqual(toRow(record({ host: null, userload: false, extra: { a: 'b' } }), 'f', 3), {
    time: '2023-04-27 07:22:57.622180',
    user: 'alice',
    host: '',
    module: 'gcc/12.2.0',
    name: 'gcc',
    version: '12.2.0',
    path: '/opt/apps/modulefiles/Core/gcc/12.2.0.lua',
    jobid: '4242',
    userload: 0,
    cluster: null,
    extra: '{"a":"b"}',
    source: 'f',
    line: 3,
    bytes: 64 + 3 * (4 + 9),
  });
  assert.equal(
    toRow(record({ time: '2023-04-27T24:00:00.000000Z' }), 'f', 1),
    'time "2023-04-27T24:00:00.000000Z" is not a UTC time like 2023-04-27T07:22:57.622180Z',
  );
  assert.equal(
    toRow(record({ time: '0999-12-31T00:00:00.000000Z' }), 'f', 1),
    'time "0999-12-31T00:00:00.000000Z" is not a UTC time like 2023-04-27T07:22:57.622180Z',
  );
  assert.equal(toRow(record({ module: 'StdEnv', name: 'StdEnv', version: '' }), 'f', 1), 'version must be null for module "StdEnv"');
  assert.equal(toRow(record({ extra: ['a'] }), 'f', 1), 'extra must be an object of strings');
  assert.equal(toRow(record({ host: 7 }), 'f', 1), 'host must be a string or null');
  const { path: _omitted, ...withoutPath } = record();
  void _omitted;
  assert.equal(toRow(withoutPath, 'f', 1), 'missing field path');
  assert.equal(toRow('text', 'f', 1), 'not a JSON object');
});

/** layoutRow may decline any line, but a row it gives is the row toRow gives for the parsed line. */
function assertLayoutAgrees(lines: string[], label: string): number {
  let taken = 0;
  for (const line of lines) {
    const row = layoutRow(line, 'in', 7);
    if (row === null) continue;
    taken++;
    let expected: unknown;
    try {
      expected = toRow(JSON.parse(line), 'in', 7);
    } catch {
      expected = 'not JSON';
    }
    assert.deepEqual(row, expected, `${label}: ${line}`);
  }
  return taken;
}

test('layoutRow: lmod-parse records give the rows toRow gives, without JSON.parse', () => {
  const records = parsedRecords(11);
  const taken = assertLayoutAgrees(records, 'record');
  assert.ok(taken > 0.8 * records.length, `took ${taken} of ${records.length}`);
});

test('layoutRow: 100,000 seeded mutations of records are taken only when toRow agrees', () => {
  const records = parsedRecords(11);
  const random = prng(31);
  const mutants = Array.from({ length: 100000 }, () =>
    mutate(records[Math.floor(random() * records.length)], random, [...ALPHABET, 'null', 'true', '/', '"', 'Z']),
  );
  const taken = assertLayoutAgrees(mutants, 'mutant');
  assert.ok(taken > 5000, `took ${taken} mutants`);
});

test('layoutRow: declines what toRow refuses or reads differently', () => {
  const line = (overrides: Record<string, unknown>): string => JSON.stringify(record(overrides));
  for (const declined of [
    line({ time: '2023-02-29T00:00:00.000000Z' }),
    line({ time: '2023-04-27T24:00:00.000000Z' }),
    line({ name: 'gcc/12' }),
    line({ version: null }),
    line({ module: 'gcc', version: '' }),
    line({ user: '' }),
    line({ user: 'a'.repeat(256) }),
    line({ path: `/${'p'.repeat(768)}` }),
    line({ jobid: 'j'.repeat(129) }),
    line({ cluster: 'c'.repeat(65) }),
    line({ user: 'alice ' }),
    line({ user: 'zoë' }),
    line({ extra: { queue: 'batch' } }),
    line({ userload: 'yes' }),
    JSON.stringify(record()).replace('"user"', ' "user"'),
  ]) {
    assert.equal(layoutRow(declined, 'in', 1), null, declined);
  }
  assert.deepEqual(layoutRow(line({ host: null, path: null, jobid: null, userload: null, module: 'StdEnv', name: 'StdEnv', version: null }), 'in', 3), {
    time: '2023-04-27 07:22:57.622180',
    user: 'alice',
    host: '',
    module: 'StdEnv',
    name: 'StdEnv',
    version: null,
    path: null,
    jobid: null,
    userload: null,
    cluster: null,
    extra: null,
    source: 'in',
    line: 3,
    bytes: 64,
  });
});

test('records with invalid UTF-8 are rejected by line, never stored as U+FFFD (which would merge them)', async () => {
  const messages: string[] = [];
  const store = new MemoryStore(Infinity, 1);
  const line = (user: Buffer) =>
    Buffer.concat([
      Buffer.from('{"time":"2023-04-27T07:22:57.622180Z","user":"'),
      user,
      Buffer.from('","module":"m","name":"m","version":null,"path":null,"host":null,"jobid":null,"userload":null,"cluster":null}\n'),
    ]);
  const sink = sinkFor(store, 10, Infinity, messages);
  await feed(sink, Buffer.concat([line(Buffer.from([0x61, 0xff])), line(Buffer.from([0x61, 0xfe])), line(Buffer.from('zoë'))]));
  assert.deepEqual(messages, ['lmod-load: in.ndjson:1: not valid UTF-8\n', 'lmod-load: in.ndjson:2: not valid UTF-8\n']);
  assert.deepEqual(sink.counts, { read: 3, inserted: 1, present: 0, rejected: 2, unloaded: 0, jobsStored: 0, jobsPresent: 0 });
  assert.deepEqual([...store.keys], ['2023-04-27 07:22:57.622180|zoë||m']);
});

test('a raw syslog file given to the loader stops at its first line', () => {
  for (const log of [
    'Apr 27 03:22:57 node1 ModuleUsageTracking: user=a module=m path=/p host=n1 time=1.000000\n',
    '2024-04-09T10:33:16.123456+00:00 node1 lmod: user=a module=m\n',
    '<13>1 2016-06-07T17:50:22.658452+02:00 node2159 lmod: - lmod:: user=a module=m\n',
    'ModuleUsageTracking[123]: user=a module=m\n',
  ]) {
    const sink = sinkFor(new MemoryStore(Infinity, 1), 10, Infinity);
    assert.throws(() => sink.write('lmod.log', Buffer.from(log)), {
      name: 'Error',
      message: 'lmod.log:1: this looks like a log file: run it through lmod-parse first',
    });
    assert.deepEqual(sink.counts, { read: 1, inserted: 0, present: 0, rejected: 1, unloaded: 0, jobsStored: 0, jobsPresent: 0 });
  }
  const messages: string[] = [];
  const sink = sinkFor(new MemoryStore(Infinity, 1), 10, Infinity, messages);
  sink.write('x.ndjson', Buffer.from('not json at all\n'));
  assert.deepEqual(messages, ['lmod-load: x.ndjson:1: not JSON\n']);
});
