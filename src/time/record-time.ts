/**
 * Record times as lmod-parse writes them (`2023-04-27T07:22:57.622180Z`, UTC, exactly six fractional digits) and the
 * calendar buckets and window slices built from them. Everything is integer arithmetic on the text's digits, so bucket
 * edges are exact to the microsecond.
 */

export const TIME_FORMAT = 'YYYY-MM-DDTHH:MM:SS.ffffffZ';

export type Period = 'hour' | 'day' | 'week' | 'month';
export const PERIODS: readonly Period[] = ['hour', 'day', 'week', 'month'];

/** The parts of a valid record time; `day` counts days since 1970-01-01. */
export interface TimeParts {
  year: number;
  month: number;
  day: number;
  hour: number;
  /** Microseconds since the epoch (exact: below 2^53 for any 4-digit year). */
  micros: number;
}

// `-` at 4 and 7, `T` at 10, `:` at 13 and 16, `.` at 19, `Z` at 26; digits elsewhere.
const EXPECTED = '0000-00-00T00:00:00.000000Z';

function digits(text: string, start: number, count: number): number {
  let n = 0;
  for (let i = start; i < start + count; i++) n = n * 10 + text.charCodeAt(i) - 48;
  return n;
}

/** Days from 1970-01-01 to a proleptic Gregorian date (any year, month 1-12). */
function daysFromCivil(year: number, month: number, day: number): number {
  const y = month <= 2 ? year - 1 : year;
  const era = Math.floor(y / 400);
  const yearOfEra = y - era * 400;
  const dayOfYear = Math.floor((153 * (month + (month > 2 ? -3 : 9)) + 2) / 5) + day - 1;
  const dayOfEra = yearOfEra * 365 + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100) + dayOfYear;
  return era * 146097 + dayOfEra - 719468;
}

export function daysInMonth(year: number, month: number): number {
  if (month === 2) return year % 4 === 0 && (year % 100 !== 0 || year % 400 === 0) ? 29 : 28;
  return month === 4 || month === 6 || month === 9 || month === 11 ? 30 : 31;
}

/** The parts of a record time, or null when it is not exactly in TIME_FORMAT or not a real date. */
export function parseRecordTime(text: string): TimeParts | null {
  if (text.length !== 27) return null;
  for (let at = 0; at < 27; at++) {
    const c = text.charCodeAt(at);
    const expected = EXPECTED.charCodeAt(at);
    if (expected === 48 ? c < 48 || c > 57 : c !== expected) return null;
  }
  const year = digits(text, 0, 4);
  const month = digits(text, 5, 2);
  const dayOfMonth = digits(text, 8, 2);
  const hour = digits(text, 11, 2);
  const minute = digits(text, 14, 2);
  const second = digits(text, 17, 2);
  if (month < 1 || month > 12 || dayOfMonth < 1 || dayOfMonth > daysInMonth(year, month)) return null;
  if (hour > 23 || minute > 59 || second > 59) return null;
  const day = daysFromCivil(year, month, dayOfMonth);
  const micros = ((day * 24 + hour) * 3600 + minute * 60 + second) * 1e6 + digits(text, 20, 6);
  return { year, month, day, hour, micros };
}

/** The record time of a microsecond count: the inverse of parseRecordTime. */
export function formatRecordTime(micros: number): string {
  const fraction = micros - Math.floor(micros / 1e6) * 1e6;
  return `${new Date((micros - fraction) / 1000).toISOString().slice(0, 19)}.${pad(fraction, 6)}Z`;
}

/** Consecutive integers per period: hours, days, ISO weeks (Monday first) or months since 1970. */
export function bucketOf(period: Period, t: TimeParts): number {
  switch (period) {
    case 'hour':
      return t.day * 24 + t.hour;
    case 'day':
      return t.day;
    case 'week':
      // 1970-01-01 was a Thursday: shifting by 3 days makes weeks start on Monday.
      return Math.floor((t.day + 3) / 7);
    case 'month':
      return t.year * 12 + t.month - 1;
  }
}

/** The index of the `width`-microsecond slice holding `micros`, exact despite float division. */
export function sliceOf(micros: number, width: number): number {
  let slice = Math.floor(micros / width);
  if (slice * width > micros) slice--;
  else if ((slice + 1) * width <= micros) slice++;
  return slice;
}

function pad(n: number, width: number): string {
  return String(n).padStart(width, '0');
}

function civilFromDays(days: number): { year: number; month: number; day: number } {
  const date = new Date(days * 86400000);
  return { year: date.getUTCFullYear(), month: date.getUTCMonth() + 1, day: date.getUTCDate() };
}

/** How a bucket is named in `--count` output: `2023-04-27T07`, `2023-04-27`, `2023-W17`, `2023-04`. */
export function bucketLabel(period: Period, bucket: number): string {
  switch (period) {
    case 'hour': {
      const d = civilFromDays(Math.floor(bucket / 24));
      return `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}T${pad(bucket - Math.floor(bucket / 24) * 24, 2)}`;
    }
    case 'day': {
      const d = civilFromDays(bucket);
      return `${pad(d.year, 4)}-${pad(d.month, 2)}-${pad(d.day, 2)}`;
    }
    case 'week': {
      // An ISO week belongs to the year of its Thursday.
      const thursday = bucket * 7;
      const year = civilFromDays(thursday).year;
      const week = Math.floor((thursday - daysFromCivil(year, 1, 1)) / 7) + 1;
      return `${pad(year, 4)}-W${pad(week, 2)}`;
    }
    case 'month':
      return `${pad(Math.floor(bucket / 12), 4)}-${pad((bucket % 12) + 1, 2)}`;
  }
}
