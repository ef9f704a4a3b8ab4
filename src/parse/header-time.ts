import { daysInMonth } from '../time/record-time';
import { isoSecond, micros } from './epoch';

/**
 * Times from syslog headers, for lines without `time=`. RFC 3339 and RFC 5424 stamps carry
 * their year and zone and convert exactly; RFC 3164 (`Nov  5 13:29:32`) has neither, so
 * the year and zone come from a YearResolver.
 */

const RFC3339 = /^(\d{4})-(\d\d)-(\d\d)[T ](\d\d):(\d\d):(\d\d)(?:\.(\d+))?(Z|[+-]\d\d:?\d\d)$/i;

/** `2016-06-07T17:50:22.658452+02:00` -> `2016-06-07T15:50:22.658452Z`; null without a zone. */
export function rfc3339ToIso(stamp: string): string | null {
  const m = RFC3339.exec(stamp);
  if (m === null) return null;
  const month = +m[2];
  const day = +m[3];
  // Date.UTC would roll `2024-13-45` over into 2025 rather than refuse it. A leap second (:60) has no time of its own in
  // the records: it would take the next second's, where a real load may be.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(+m[1], month) || +m[4] > 23 || +m[5] > 59 || +m[6] > 59) return null;
  const local = utcSeconds(+m[1], month, day, +m[4], +m[5], +m[6]);
  return `${isoSecond(local - offsetSeconds(m[8]))}.${micros(m[7] ?? '')}Z`;
}

/** Seconds since the epoch of a UTC wall-clock time; unlike Date.UTC, years 0-99 stay as written. */
function utcSeconds(y: number, mo: number, d: number, h: number, mi: number, s: number): number {
  const date = new Date(Date.UTC(2000, mo - 1, d, h, mi, s));
  if (y !== 2000) date.setUTCFullYear(y);
  return date.getTime() / 1000;
}

function offsetSeconds(zone: string): number {
  if (zone === 'Z' || zone === 'z') return 0;
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 3600 + Number(digits.slice(2)) * 60);
}

export const MONTHS: Record<string, number> = Object.fromEntries('Jan Feb Mar Apr May Jun Jul Aug Sep Oct Nov Dec'.split(' ').map((m, i) => [m, i + 1]));

/** Wall-clock time in some zone to seconds since the epoch. */
export type ZoneConverter = (year: number, month: number, day: number, h: number, m: number, s: number) => number;

/** `--tz`: `UTC`, a fixed offset (`+02:00`), an IANA name (`Europe/Berlin`), or undefined for this machine's zone. Throws on a zone Intl does not know. */
export function zoneConverter(tz: string | undefined): ZoneConverter {
  if (tz === undefined) return (y, mo, d, h, mi, s) => new Date(y, mo - 1, d, h, mi, s).getTime() / 1000;
  if (/^(UTC|GMT|Z)$/i.test(tz)) return utcSeconds;
  if (/^[+-]\d\d:?\d\d$/.test(tz)) {
    const offset = offsetSeconds(tz);
    return (y, mo, d, h, mi, s) => utcSeconds(y, mo, d, h, mi, s) - offset;
  }
  const format = new Intl.DateTimeFormat('en-US', {
    timeZone: tz,
    hourCycle: 'h23',
    ...Object.fromEntries(['year', 'month', 'day', 'hour', 'minute', 'second'].map((k) => [k, 'numeric'])),
  });
  const zoneOffset = (epochSeconds: number): number => {
    const parts: Record<string, number> = {};
    for (const p of format.formatToParts(epochSeconds * 1000)) parts[p.type] = Number(p.value);
    return Date.UTC(parts.year, parts.month - 1, parts.day, parts.hour, parts.minute, parts.second) / 1000 - epochSeconds;
  };
  return (y, mo, d, h, mi, s) => {
    const asUtc = Date.UTC(y, mo - 1, d, h, mi, s) / 1000;
    // Two rounds settle the offset on either side of a DST change.
    const first = asUtc - zoneOffset(asUtc);
    return asUtc - zoneOffset(first);
  };
}

/** A stamp this far before the one before it has wrapped into the next year. */
const WRAPPED = 183 * 86400;

/**
 * Picks the year of RFC 3164 stamps in one input. The first stamp takes `--year`, else the latest year that does not put
 * it more than a day after the input's reference time (its mtime; now for stdin). Logs run forward, so every later stamp
 * keeps the year of the stamp before it, except: more than half a year earlier means the year turned (Dec 31 -> Jan 1,
 * or a sparse log from November to February), and a December stamp right after a January one is a late delivery from the
 * year before.
 */
export class YearResolver {
  private previous: number | null = null;
  private previousYear = 0;
  private previousMonth = 0;

  constructor(
    private readonly toEpoch: ZoneConverter,
    private readonly year: number | undefined,
    private readonly reference: Date,
  ) {}

  /** Seconds since the epoch of `month day hh:mm:ss`. */
  resolve(month: number, day: number, h: number, m: number, s: number): number {
    if (this.previous === null) {
      if (this.year !== undefined) return this.remember(this.toEpoch(this.year, month, day, h, m, s), this.year, month);
      // The stamp may be up to a day ahead of the mtime (clocks differ), so next year is a candidate.
      const latest = this.reference.getTime() / 1000 + 86400;
      let year = this.reference.getUTCFullYear() + 1;
      let t = this.toEpoch(year, month, day, h, m, s);
      while (t > latest) t = this.toEpoch(--year, month, day, h, m, s);
      return this.remember(t, year, month);
    }
    const year = this.previousYear;
    if (month === 12 && this.previousMonth === 1) return this.remember(this.toEpoch(year - 1, month, day, h, m, s), year - 1, month);
    const t = this.toEpoch(year, month, day, h, m, s);
    if (this.previous - t > WRAPPED) return this.remember(this.toEpoch(year + 1, month, day, h, m, s), year + 1, month);
    return this.remember(t, year, month);
  }

  private remember(t: number, year: number, month: number): number {
    this.previous = t;
    this.previousYear = year;
    this.previousMonth = month;
    return t;
  }
}

/** `Nov  5 13:29:32` (already split) -> ISO, through the input's YearResolver. */
export function rfc3164ToIso(resolver: YearResolver, month: number, day: number, hms: string): string | null {
  if (hms.length !== 8 || hms[2] !== ':' || hms[5] !== ':') return null;
  const h = Number(hms.slice(0, 2));
  const m = Number(hms.slice(3, 5));
  const s = Number(hms.slice(6, 8));
  if (!(h < 24 && m < 60 && s < 60) || day < 1 || day > 31) return null;
  return `${isoSecond(resolver.resolve(month, day, h, m, s))}.000000Z`;
}
