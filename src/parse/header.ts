import { MONTHS } from './header-time';

/**
 * The syslog header in front of a tracking message, in the forms seen in real logs:
 *   RFC 3164  `Apr 27 03:22:57 node1 TAG[pid]: msg` (day padded with a space or not)
 *   RFC 3339  `2024-04-09T10:33:16.123456+00:00 host TAG: msg` (rsyslog's high-precision format)
 *   RFC 5424  `<13>1 2016-06-07T17:50:22.658452+02:00 node2159 lmod: - lmod:: msg`
 *   none      `ModuleUsageTracking[123]: msg`, `lmod::  msg`
 */
export interface Header {
  /** Index of the tag (or, without a header, of the first character). */
  tagAt: number;
  host: string | null;
  /** RFC 3339/5424 stamp, or null. */
  stamp: string | null;
  /** RFC 3164 parts, month 1-12 (0 when there is none). */
  month: number;
  day: number;
  hms: string;
  /** RFC 5424 puts PROCID, MSGID and structured data between tag and message. */
  rfc5424: boolean;
}

const NONE: Header = { tagAt: 0, host: null, stamp: null, month: 0, day: 0, hms: '', rfc5424: false };

export function readHeader(line: string): Header {
  const c = line.charCodeAt(0);
  if (c >= 65 && c <= 90 && line.charCodeAt(3) === 32) return rfc3164(line);
  if (c >= 48 && c <= 57 && line.charCodeAt(4) === 45) return stamped(line, 0, false);
  if (c === 60) {
    const close = line.indexOf('>');
    if (close > 0 && close < 5) {
      let at = close + 1;
      while (at < line.length && line.charCodeAt(at) >= 48 && line.charCodeAt(at) <= 57) at++;
      if (line.charCodeAt(at) === 32) return stamped(line, at + 1, true);
    }
  }
  return NONE;
}

function rfc3164(line: string): Header {
  const month = MONTHS[line.slice(0, 3)];
  if (month === undefined) return NONE;
  let at = 4;
  if (line.charCodeAt(at) === 32) at++;
  const dayEnd = line.indexOf(' ', at);
  if (dayEnd < 0 || dayEnd - at > 2) return NONE;
  const day = Number(line.slice(at, dayEnd));
  const hms = line.slice(dayEnd + 1, dayEnd + 9);
  if (line.charCodeAt(dayEnd + 9) !== 32 || !(day >= 1)) return NONE;
  const hostEnd = line.indexOf(' ', dayEnd + 10);
  if (hostEnd < 0) return NONE;
  return { tagAt: hostEnd + 1, host: line.slice(dayEnd + 10, hostEnd), stamp: null, month, day, hms, rfc5424: false };
}

function stamped(line: string, at: number, rfc5424: boolean): Header {
  const stampEnd = line.indexOf(' ', at);
  if (stampEnd < 0) return NONE;
  const hostEnd = line.indexOf(' ', stampEnd + 1);
  if (hostEnd < 0) return NONE;
  const host = line.slice(stampEnd + 1, hostEnd);
  return { tagAt: hostEnd + 1, host: host === '-' ? null : host, stamp: line.slice(at, stampEnd), month: 0, day: 0, hms: '', rfc5424 };
}

/** `TAG[pid]:` at `at`: the tag name and where the message starts, or null. */
export function readTag(line: string, at: number, rfc5424: boolean): { tag: string; messageAt: number } | null {
  let end = at;
  const n = line.length;
  let c = 0;
  while (end < n && (c = line.charCodeAt(end)) !== 58 && c !== 91 && c !== 32) end++;
  if (end === at) return null;
  const tag = line.slice(at, end);
  let next = end;
  if (c === 91) {
    next = line.indexOf(']', end);
    if (next < 0) return null;
    next++;
  }
  if (line.charCodeAt(next) === 58) {
    next++;
    if (line.charCodeAt(next) === 58) next++; // headerless `lmod::  msg`
  } else if (!rfc5424) return null;
  return { tag, messageAt: skipPreamble(line, next, rfc5424) };
}

/**
 * Skips what stands between the tag and the pairs: RFC 5424's `-`/PROCID/MSGID/structured data fields, and the `lmod::`
 * prefix that some hooks put in the message itself.
 */
function skipPreamble(line: string, at: number, rfc5424: boolean): number {
  let i = at;
  for (;;) {
    // RFC 5424 lets MSG start with a byte order mark.
    while (line.charCodeAt(i) === 32 || line.charCodeAt(i) === 0xfeff) i++;
    if (rfc5424 && line.charCodeAt(i) === 91) {
      const sdEnd = structuredDataEnd(line, i);
      if (sdEnd > 0) {
        i = sdEnd;
        continue;
      }
    }
    const end = line.indexOf(' ', i);
    const word = end < 0 ? line.slice(i) : line.slice(i, end);
    const skippable = word === '-' || word.endsWith('::') || (rfc5424 && /^\d+$/.test(word));
    if (!skippable || end < 0) return i;
    i = end + 1;
  }
}

/**
 * End of RFC 5424 structured data (`[id k="v w"][id2 ...]`) starting at `at`: its values are quoted and may hold spaces,
 * `]` and escaped quotes. -1 when it never closes.
 */
function structuredDataEnd(line: string, at: number): number {
  let i = at;
  while (line.charCodeAt(i) === 91) {
    let quoted = false;
    for (i++; i < line.length; i++) {
      const c = line.charCodeAt(i);
      if (c === 92 && quoted) i++;
      else if (c === 34) quoted = !quoted;
      else if (c === 93 && !quoted) break;
    }
    if (i >= line.length) return -1;
    i++;
  }
  return i;
}
