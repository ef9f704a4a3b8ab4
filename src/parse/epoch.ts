/**
 * Exact conversion of Lmod's `time=` text (seconds since the epoch, `%f`) to the record's ISO form. The digits are never
 * run through a float: `1682580178.901394` as a double is 1682580178.9013939, which would print as `.901393`.
 */

const DECIMAL_EPOCH = /^(\d{1,11})(?:\.(\d+))?$/;

let cachedSecond = -1;
let cachedPrefix = '';

/** `YYYY-MM-DDTHH:MM:SS` of a whole UTC second, cached: consecutive lines share it. */
export function isoSecond(seconds: number): string {
  if (seconds !== cachedSecond) {
    cachedSecond = seconds;
    cachedPrefix = new Date(seconds * 1000).toISOString().slice(0, 19);
  }
  return cachedPrefix;
}

/** Six fractional digits: shorter text is padded, longer text is cut (never rounded up). */
export function micros(fraction: string): string {
  return fraction.length === 6 ? fraction : (fraction + '000000').slice(0, 6);
}

/** `1682580177.622180` -> `2023-04-27T07:22:57.622180Z`, or null when the text is no epoch. */
export function epochToIso(text: string): string | null {
  const m = DECIMAL_EPOCH.exec(text);
  if (m === null) return null;
  const seconds = Number(m[1]);
  if (seconds > 253402300799) return null; // after 9999-12-31T23:59:59Z
  return `${isoSecond(seconds)}.${micros(m[2] ?? '')}Z`;
}
