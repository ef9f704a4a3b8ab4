/** Durations as every command takes them (`--window`, `--since 30d`, `--older-than 180d`): a whole number and a unit, s, m or min, h, d, w, or y (365 days). */
const UNIT_SECONDS: Record<string, number> = { s: 1, m: 60, min: 60, h: 3600, d: 86400, w: 7 * 86400, y: 365 * 86400 };

/** `90s`, `10m`, `90min`, `12h`, `30d`, `2w`, `1y` -> seconds; null when the text is no duration. */
export function durationSeconds(text: string): number | null {
  const m = /^(\d+)(s|min|m|h|d|w|y)$/.exec(text.trim());
  if (m === null) return null;
  const seconds = Number(m[1]) * UNIT_SECONDS[m[2]];
  return Number.isSafeInteger(seconds * 1e6) ? seconds : null;
}
