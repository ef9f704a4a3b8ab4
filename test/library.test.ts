import assert from 'node:assert/strict';
import { createReadStream } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { test } from 'node:test';

// The package entry, as `require('lmod-tracking')` resolves it (package.json "main").
// eslint-disable-next-line @typescript-eslint/no-require-imports
const lib = require(join(__dirname, '..', '..', require('../../package.json').main)) as typeof import('../src/index');

test('the README library example: parseLine gives the record', () => {
  const context = { isTrackingTag: lib.tagMatcher(), years: new lib.YearResolver(lib.zoneConverter('UTC'), 2024, new Date()) };
  const outcome = lib.parseLine('Apr 27 03:22:57 node1 ModuleUsageTracking: user=alice module=gcc/12.2.0 path=/p host=n1 time=1682580177.622180', context);
  assert.deepEqual(outcome, {
    record: { time: '2023-04-27T07:22:57.622180Z', user: 'alice', module: 'gcc/12.2.0', name: 'gcc', version: '12.2.0', path: '/p', host: 'n1', jobid: null, userload: null },
  });
});

test('the README library example: LineSplitter and ParseStage in a pipeline', async () => {
  const file = join(__dirname, '..', '..', 'examples', 'lmod.log');
  const malformed: string[] = [];
  const parse = new lib.ParseStage({ onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`) });
  let ndjson = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      ndjson += chunk.toString();
      callback();
    },
  });
  await pipeline(createReadStream(file), new lib.LineSplitter({ source: 'lmod.log' }), parse, sink);
  assert.deepEqual(parse.counts, { lines: 2506, records: 2432, skipped: 64, malformed: 10 });
  assert.equal(ndjson.split('\n').length - 1, 2432);
  assert.equal(malformed[0], 'lmod.log:83: empty user');
  assert.equal(malformed.at(-1), 'lmod.log:2506: cut short (unterminated quote)');
});

test('the README library example: feedRawInputs into ParseStage gives what LineSplitter gives', async () => {
  const file = join(__dirname, '..', '..', 'examples', 'lmod.log');
  const malformed: string[] = [];
  const stage = new lib.ParseStage({ onMalformed: (source, line, reason) => malformed.push(`${source}:${line}: ${reason}`) });
  let ndjson = '';
  const written = pipeline(
    stage,
    new Writable({
      write(chunk: Buffer, _encoding, callback) {
        ndjson += chunk.toString();
        callback();
      },
    }),
  );
  const failed = await lib.feedRawInputs([file, join(file, 'missing')], stage, (name, err) => malformed.push(`${name}: ${(err as NodeJS.ErrnoException).code}`));
  stage.end();
  await written;
  assert.equal(failed, 1);
  assert.deepEqual(stage.counts, { lines: 2506, records: 2432, skipped: 64, malformed: 10 });
  assert.equal(ndjson.split('\n').length - 1, 2432);
  assert.equal(malformed[0], `${file}:83: empty user`);
  assert.equal(malformed.at(-1), `${join(file, 'missing')}: ENOTDIR`);
});

test('LineBatches say whether they hold bytes: DedupeStage gives the same records from text and binary lines', async () => {
  const ndjson = [
    '{"time":"2024-01-01T00:00:00.000000Z","user":"zoë","module":"日本/1.0","name":"日本","version":"1.0","path":null,"host":"h","jobid":null,"userload":null}',
    '{"time":"2024-01-01T00:00:00.000000Z","user":"zoë","module":"日本/1.0","name":"日本","version":"1.0","path":null,"host":"h","jobid":"7","userload":null}',
    '{"time":"2024-01-01T00:00:00.000000Z","user":"zoe","module":"日本/1.0","name":"日本","version":"1.0","path":null,"host":"h","jobid":null,"userload":null}',
  ].join('\n') + '\n';
  const run = async (binary: boolean): Promise<string> => {
    let out = '';
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        out += chunk.toString();
        callback();
      },
    });
    const bytes = Buffer.from(ndjson);
    await pipeline([...bytes].map((b) => Buffer.from([b])), new lib.LineSplitter({ source: 'in', binary }), new lib.DedupeStage(), sink);
    return out;
  };
  const expected = ndjson.split('\n').filter((_, i) => i !== 1).join('\n');
  assert.equal(await run(false), expected);
  assert.equal(await run(true), expected);
});
