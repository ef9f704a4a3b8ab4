import { isoSecond } from '../parse/epoch';
import type { ZoneConverter } from '../parse/header-time';
import { daysInMonth } from '../time/record-time';

/** The values of single sacct fields: null where the text is not what sacct prints there. */

/** A count (ElapsedRaw, AllocCPUS, NNodes, a TRES count): a whole number >= 0. */
export function wholeNumber(text: string): number | null {
  if (!/^\d+$/.test(text)) return null;
  const n = Number(text);
  return Number.isSafeInteger(n) ? n : null;
}

const CLOCK = /^(?:(?:(\d+)-)?(\d+):)?(\d+):(\d+)(?:\.\d+)?$/;

/**
 * Elapsed as sacct prints it, `D-HH:MM:SS`, `HH:MM:SS`, `MM:SS` or `MM:SS.mmm`, in whole seconds: the fraction is
 * dropped, as ElapsedRaw has none.
 */
export function clockSeconds(text: string): number | null {
  const m = CLOCK.exec(text);
  if (m === null) return null;
  const [days, hours, minutes, seconds] = m.slice(1).map((digits) => Number(digits ?? 0));
  // A part below a larger one stays below its carry; the largest one printed may be any size.
  if (seconds > 59 || (m[2] !== undefined && minutes > 59) || (m[1] !== undefined && hours > 23)) return null;
  return ((days * 24 + hours) * 60 + minutes) * 60 + seconds;
}

const LOCAL_TIME = /^(\d{4})-(\d\d)-(\d\d)T(\d\d):(\d\d):(\d\d)$/;

/** sacct's Start or End, `2026-12-04T10:11:12` on the wall clock of `toEpoch`'s zone, as UTC: `2026-12-04T09:11:12.000000Z`. */
export function localTimeToIso(text: string, toEpoch: ZoneConverter): string | null {
  const m = LOCAL_TIME.exec(text);
  if (m === null) return null;
  const [year, month, day, h, mi, s] = m.slice(1).map(Number);
  // Date would roll `2026-02-30` over into March rather than refuse it.
  if (month < 1 || month > 12 || day < 1 || day > daysInMonth(year, month) || h > 23 || mi > 59 || s > 59) return null;
  return `${isoSecond(toEpoch(year, month, day, h, mi, s))}.000000Z`;
}

/** `gres/gpu=N` and `gres/gpu:TYPE=N`, but not `gres/gpumem=40G` or `gres/gpuutil=...`. */
const GPU_TRES = /(?:^|,)gres\/gpu(:[^=,]*)?=([^,]*)/g;

/**
 * The GPUs of an AllocTRES (`cpu=4,gres/gpu:a100=2,gres/gpu=2,node=1`): the untyped `gres/gpu=N` when it is there
 * (Slurm counts every GPU in it), else the sum of the typed `gres/gpu:TYPE=N`; 0 when it lists none.
 */
export function tresGpus(tres: string): number | null {
  let untyped: number | null = null;
  let typed = 0;
  for (const m of tres.matchAll(GPU_TRES)) {
    const count = wholeNumber(m[2]);
    if (count === null) return null;
    if (m[1] === undefined) untyped = count;
    else typed += count;
  }
  return untyped ?? typed;
}
