/**
 * The rows a load transaction added, as the summaries need them (migration 005): the loader
 * writes them to `summary_pending` in the same transaction, `lmod-load` folds them into the
 * summaries afterwards (src/report/summary-fold.ts).
 */
export interface NewLoad {
  /** Stored-time text, 'YYYY-MM-DD HH:MM:SS.ffffff'. */
  time: string;
  userId: number;
  hostId: number;
  moduleId: number;
  userload: 0 | 1 | null;
}

/** Whether pending rows are wanted: the summaries have pairs to fold them onto. */
export const PAIRS_GENERATION = "SELECT generation FROM summary_state WHERE name = 'pairs'";

/**
 * Run after BUMP_GENERATION in the same transaction, so the row takes the generation this
 * transaction gave the loads. NULL for `loads` says the new rows are not known one by one.
 */
export const RECORD_PENDING = "INSERT INTO summary_pending (generation, loads) SELECT generation, ? FROM summary_state WHERE name = 'loads'";

const USERLOAD_TEXT = { 0: '0', 1: '1' } as const;

/** One line per load: time, user id, host id, module id, userload ('' for null), tab-separated. */
export function encodeNewLoads(loads: NewLoad[]): string {
  let text = '';
  for (const l of loads) text += `${l.time}\t${l.userId}\t${l.hostId}\t${l.moduleId}\t${l.userload === null ? '' : USERLOAD_TEXT[l.userload]}\n`;
  return text;
}

export function decodeNewLoads(text: string): NewLoad[] {
  const loads: NewLoad[] = [];
  for (const line of text.split('\n')) {
    if (line === '') continue;
    const [time, user, host, module, userload] = line.split('\t');
    loads.push({ time, userId: Number(user), hostId: Number(host), moduleId: Number(module), userload: userload === '' ? null : userload === '1' ? 1 : 0 });
  }
  return loads;
}
