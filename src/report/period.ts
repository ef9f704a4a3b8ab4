/**
 * Time bounds for the report filters. The database stores UTC as 'YYYY-MM-DD HH:MM:SS.ffffff' (see src/db/migrations),
 * so every bound is turned into that exact text: both dialects compare it as a string or DATETIME the same way, and
 * microseconds survive (a JS Date keeps only milliseconds).
 */
import { durationSeconds } from '../time/duration';
import { daysInMonth } from '../time/record-time';

const DATE_TIME = /^(\d{4})-(\d{2})-(\d{2})(?:[T ](\d{2}):(\d{2})(?::(\d{2})(?:\.(\d{1,6}))?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/** A stored-time string for a Date plus extra microseconds (0-999). */
function storedTime(date: Date, micros: number): string {
  const iso = date.toISOString(); // 2024-01-02T03:04:05.678Z
  return `${iso.slice(0, 10)} ${iso.slice(11, 19)}.${iso.slice(20, 23)}${String(micros).padStart(3, '0')}`;
}

/**
 * Parses a `--since`/`--until` value: a date (`2024-01-31`), a date and time (`2024-01-31T12:00`, seconds and up to 6
 * fraction digits optional, `Z` or `+02:00` optional, UTC when absent), or a duration before `now` (`30d`). Returns the
 * stored-time text, or null when the value is none of these. `13mo` is calendar months (the same day of the month, or
 * its last day when shorter).
 */
export function parseTimeBound(text: string, now: Date): string | null {
  const months = /^(\d+)mo$/.exec(text.trim());
  if (months !== null) return storedTime(monthsBefore(now, Number(months[1])), 0);
  const seconds = durationSeconds(text);
  if (seconds !== null) return storedTime(new Date(now.getTime() - seconds * 1000), 0);
  const m = DATE_TIME.exec(text.trim());
  if (m === null) return null;
  const [, y, mo, d, h = '00', mi = '00', s = '00', frac = '', zone = 'Z'] = m;
  const fields = [Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)] as const;
  const ms = Date.UTC(...fields);
  const date = new Date(ms);
  // Date.UTC rolls 2024-02-30 over into March: refuse instead of guessing.
  if (
    date.getUTCFullYear() !== fields[0] ||
    date.getUTCMonth() !== fields[1] ||
    date.getUTCDate() !== fields[2] ||
    date.getUTCHours() !== fields[3] ||
    date.getUTCMinutes() !== fields[4] ||
    date.getUTCSeconds() !== fields[5]
  ) {
    return null;
  }
  const micro = Number(frac.padEnd(6, '0'));
  const offsetMinutes = zone === 'Z' ? 0 : zoneMinutes(zone);
  const shifted = new Date(ms - offsetMinutes * 60000 + Math.floor(micro / 1000));
  return storedTime(shifted, micro % 1000);
}

function monthsBefore(now: Date, months: number): Date {
  const total = now.getUTCFullYear() * 12 + now.getUTCMonth() - months;
  const [year, month] = [Math.floor(total / 12), total % 12];
  const day = Math.min(now.getUTCDate(), daysInMonth(year, month + 1));
  return new Date(Date.UTC(year, month, day, now.getUTCHours(), now.getUTCMinutes(), now.getUTCSeconds(), now.getUTCMilliseconds()));
}

function zoneMinutes(zone: string): number {
  const sign = zone[0] === '-' ? -1 : 1;
  const digits = zone.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2)));
}

/** A stored time as the reports print it: UTC ISO-8601 with 6 fraction digits, like the NDJSON records. */
export function isoTime(stored: string | null): string | null {
  if (stored === null) return null;
  return `${stored.slice(0, 10)}T${stored.slice(11, 26)}Z`;
}
