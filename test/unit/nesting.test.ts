import assert from 'node:assert/strict';
import { test } from 'node:test';
import { Deduper, type DedupeOutput } from '../../src/dedupe/deduper';
import { Loader } from '../../src/load/loader';
import { LogParser } from '../../src/parse/log-parser';

/** Deeply nested JSON, as anyone who can write to syslog (logger) can send it: one bad line, never a crash. */
const DEPTHS = [1e3, 1e4, 1e5, 1e6];
const nested = (depth: number): string => `${'['.repeat(depth)}${']'.repeat(depth)}`;
const RECORD =
  '{"time":"2023-04-27T07:22:57.622180Z","user":"alice","module":"gcc/12","name":"gcc","version":"12","path":null,"host":"n1","jobid":null,"userload":true,"cluster":null}';
const BIG = 4 * 1024 * 1024;

test('lmod-parse: a JSON payload nested 10^3 to 10^6 deep is one malformed line (or a record while it can be written back), and the next line still parses', () => {
  for (const depth of DEPTHS) {
    const messages: string[] = [];
    const parser = new LogParser({ tz: 'UTC', maxLength: BIG, onMalformed: (source, line, reason) => messages.push(`${source}:${line}: ${reason}`) });
    let out = '';
    const sink = { bytes: (v: Uint8Array) => (out += Buffer.from(v).toString('latin1')), text: (t: string) => (out += t) };
    const log = `Apr 27 03:22:57 n1 ModuleUsageTracking: {"user":"a","module":"m","time":"1","x":${nested(depth)}}\nApr 27 03:22:58 n1 ModuleUsageTracking: user=b module=m path=/p host=n1 time=2.000000\n`;
    parser.write('nest.log', Buffer.from(log), sink);
    parser.end(sink);
    const lines = out.trimEnd().split('\n');
    assert.equal(JSON.parse(lines[lines.length - 1]).user, 'b', `depth ${depth}`);
    if (depth <= 1e3) assert.deepEqual([messages, parser.counts.records], [[], 2]);
    else assert.deepEqual([messages, parser.counts.records], [['nest.log:1: JSON payload nested too deeply'], 1]);
  }
});

test('lmod-dedupe: a record nesting 10^3 to 10^6 deep, in a key field or not, is kept or rejected by line, never a crash', () => {
  for (const key of ['time,user,host,module', 'x']) {
    for (const depth of DEPTHS) {
      const messages: string[] = [];
      const deduper = new Deduper({ key, maxLength: BIG, onReject: (source, line, reason) => messages.push(`${source}:${line}: ${reason}`) });
      const out: DedupeOutput = [];
      const after = RECORD.replace('alice', 'bob').replace('"userload":true', `"userload":true,"x":"y"`);
      deduper.write('n.ndjson', Buffer.from(`${RECORD.slice(0, -1)},"x":${nested(depth)}}\n${after}\n`), out);
      deduper.finish(out);
      const text = Buffer.concat(out.map((p) => (typeof p === 'string' ? Buffer.from(p) : p))).toString();
      assert.ok(text.endsWith(`${after}\n`), `key ${key}, depth ${depth}`);
      const expected = key === 'x' && depth > 1e3 ? ['n.ndjson:1: key field nested too deeply'] : [];
      assert.deepEqual(messages, expected, `key ${key}, depth ${depth}`);
    }
  }
});

test('lmod-load: a record nesting 10^3 to 10^6 deep is rejected by line, and the next one loads', async () => {
  for (const depth of DEPTHS) {
    const messages: string[] = [];
    const loader = new Loader({
      store: null,
      batchRows: 10,
      batchBytes: Infinity,
      maxLineLength: BIG,
      retry: { retries: 0, baseDelayMs: 1, maxDelayMs: 1 },
      onReject: (source, line, reason) => messages.push(`${source}:${line}: ${reason}`),
    });
    loader.write('n.ndjson', Buffer.from(`${RECORD.slice(0, -1)},"extra":{"x":${nested(depth)}}}\n${RECORD}\n`));
    loader.end();
    await loader.finish();
    assert.deepEqual(messages, ['n.ndjson:1: extra.x must be a string'], `depth ${depth}`);
    assert.deepEqual([loader.counts.read, loader.counts.inserted, loader.counts.rejected], [2, 1, 1]);
  }
});
