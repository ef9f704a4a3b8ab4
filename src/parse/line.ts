import { type HeaderFallback, type Outcome, recordFromPairs } from './fields';
import { rfc3164ToIso, rfc3339ToIso, type YearResolver } from './header-time';
import { type Header, readHeader, readTag } from './header';
import { scanPairs } from './pairs';

/**
 * The parser: one syslog line in, a record or the reason there is none out. No I/O; the only state is the input's
 * YearResolver for RFC 3164 stamps without a year.
 */
export type ParseOutcome = Outcome | { skip: 'foreign' | 'empty' };

/** Tags that hooks in the wild log under (docs/formats.md). */
export const DEFAULT_TAGS = /^(?:(?:[A-Za-z0-9][\w-]*_)?ModuleUsage(?:Tracking)?|lmod(?:-[\d.]+)?|modules?)$/;

export interface ParseContext {
  isTrackingTag: (tag: string) => boolean;
  years: YearResolver;
  /** The cluster of records whose message names none (--cluster), or null. */
  cluster?: string | null;
}

/** `--tag REGEX` adds a site's own tag to the known ones; the last answer is cached. */
export function tagMatcher(extra?: RegExp): (tag: string) => boolean {
  let lastTag = '';
  let lastAnswer = false;
  return (tag) => {
    if (tag !== lastTag) {
      lastTag = tag;
      lastAnswer = DEFAULT_TAGS.test(tag) || extra?.test(tag) === true;
    }
    return lastAnswer;
  };
}

/** Lmod gen_2 JSON (`"date"` holds the epoch) and Environment Modules' JSON recipe. */
const JSON_EPOCH_KEYS: ReadonlySet<string> = new Set(['date']);

const NOT_TRACKING_JSON: ReadonlySet<string> = new Set(['bad JSON payload', 'JSON payload is not an object', 'no user', 'no module']);

export function parseLine(line: string, context: ParseContext): ParseOutcome {
  if (line.length === 0 || line.trim() === '') return { skip: 'empty' };
  const header = readHeader(line);
  if (header.stamp === null && header.month === 0 && line.charCodeAt(0) === 123) {
    // Without a tag only user and module make a JSON line a tracking one.
    const outcome = fromJson(line, header, context);
    const foreign = 'malformed' in outcome ? NOT_TRACKING_JSON.has(outcome.malformed) : 'skip' in outcome && outcome.skip === 'not-tracking';
    return foreign ? { skip: 'foreign' } : outcome;
  }
  const tag = readTag(line, header.tagAt, header.rfc5424);
  if (tag === null || !context.isTrackingTag(tag.tag)) return { skip: 'foreign' };
  const at = tag.messageAt;
  const first = line.charCodeAt(at);
  if (first === 123 || first === 91) return fromJson(line.slice(at), header, context);
  const pairs = scanPairs(line, at);
  if (pairs.unterminated) return { malformed: 'cut short (unterminated quote)' };
  const outcome = recordFromPairs(pairs.keys, pairs.values, fallback(header, context));
  if (pairs.trailingWord && !('skip' in outcome)) return { malformed: 'cut short (ends in a word without =)' };
  return outcome;
}

function fromJson(text: string, header: Header, context: ParseContext): Outcome {
  let payload: unknown;
  try {
    payload = JSON.parse(text);
  } catch {
    return { malformed: 'bad JSON payload' };
  }
  if (typeof payload !== 'object' || payload === null || Array.isArray(payload)) return { malformed: 'JSON payload is not an object' };
  const keys = Object.keys(payload);
  const values = keys.map((k) => (payload as Record<string, unknown>)[k]);
  try {
    return recordFromPairs(keys, values, fallback(header, context), JSON_EPOCH_KEYS);
  } catch (err) {
    // A value nested deeper than JSON.stringify's stack can write back as text (anyone can log one).
    if (err instanceof RangeError) return { malformed: 'JSON payload nested too deeply' };
    throw err;
  }
}

function fallback(header: Header, context: ParseContext): HeaderFallback {
  return {
    host: header.host,
    cluster: context.cluster ?? null,
    time: () => {
      if (header.stamp !== null) return rfc3339ToIso(header.stamp);
      if (header.month !== 0) return rfc3164ToIso(context.years, header.month, header.day, header.hms);
      return null;
    },
  };
}
