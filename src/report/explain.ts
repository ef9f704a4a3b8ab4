import { summaryVariant } from './summaries';
import type { Filters } from './queries';

/**
 * Why a report has no rows, in one sentence: printed on stderr under an empty table and written in place of an empty
 * section of the page, so an empty result is never mistaken for a broken one.
 */

/** The first and last load under the report's filters, null when none passes them. */
export type Span = { first: string; last: string } | null;

const day = (stored: string): string => stored.slice(0, 10);

/** No load passes the filters, or the database has none. */
export function explainNoLoads(f: Filters): string {
  return summaryVariant(f) === 0 ? 'The database holds no loads yet: load some with lmod-parse FILE | lmod-dedupe | lmod-load.' : 'No loads match the filters.';
}

/** `stale` found nothing: every version was loaded after the cutoff. */
export function explainStale(f: Filters, span: Span, cutoff: string, olderThan: string): string {
  if (span === null) return explainNoLoads(f);
  return (
    `No module version was last loaded before ${day(cutoff)} (more than ${olderThan} ago): ` +
    `the loads run from ${day(span.first)} to ${day(span.last)}; try a shorter --older-than.`
  );
}

/** `unused` found nothing. */
export function explainUnused(f: Filters, inventorySize: number): string {
  if (inventorySize === 0) return 'The inventory lists no module.';
  const when = f.since === null && f.until === null ? '' : ' in the period';
  const matching = f.modules.length > 0 ? ' matching --module' : '';
  return `Every installed module in the inventory${matching} has a load${when} (${inventorySize} listed).`;
}

/** `accounts` (or the page's compute section) found nothing. */
export function explainNoJobs(jobsLoaded: boolean): string {
  return jobsLoaded
    ? 'No Slurm job matches the filters.'
    : 'No Slurm jobs are loaded: sacct --parsable2 ... | lmod-jobs | lmod-load adds them, with core-hours per module and account.';
}
