import initial from './001-initial';
import reportIndexes from './002-report-indexes';
import userloadInIndexes from './003-userload-in-indexes';
import reportSummaries from './004-report-summaries';
import summariesFullOnly from './006-summaries-full-only';

/** One schema version: the statements that bring the previous version up to it, per dialect. */
export interface Migration {
  version: number;
  description: string;
  /** MySQL 8 / MariaDB / TiDB statements; each safe to run again after a crash half-way. */
  mysql: string[];
  sqlite: string[];
}

/** Every migration, in version order (version 5's tables are dropped by 6, so a database below 5 skips it). A new version appends a file and a line here. */
export const MIGRATIONS: Migration[] = [initial, reportIndexes, userloadInIndexes, reportSummaries, summariesFullOnly];
