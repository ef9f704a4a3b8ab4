import { logLines } from './generate';
import { YearResolver, zoneConverter } from '../../src/parse/header-time';
import { parseLine, tagMatcher } from '../../src/parse/line';
import { recordToNdjson } from '../../src/parse/serialize';

/** lmod-parse's records (without newlines) for 20,000 generated log lines of every format. */
export function parsedRecords(seed: number): string[] {
  const context = { isTrackingTag: tagMatcher(), years: new YearResolver(zoneConverter('UTC'), 2024, new Date()) };
  const records: string[] = [];
  for (const line of logLines({ lines: 20000, seed, variety: true, foreign: 0.01, malformed: 0.01 })) {
    const outcome = parseLine(line, context);
    if ('record' in outcome) records.push(recordToNdjson(outcome.record).slice(0, -1));
  }
  return records;
}
