import initial from './001-initial';
import userloadInIndexes from './003-userload-in-indexes';
import reportSummaries from './004-report-summaries';
import summariesFullOnly from './006-summaries-full-only';
import jobsAndClusters from './007-jobs-and-clusters';
import packageTrends from './008-package-trends';

/** One schema version: the statements that bring the previous version up to it, per dialect. */
export interface Migration {
  version: number;
  description: string;
  /** MySQL 8 / MariaDB / TiDB statements; each safe to run again after a crash half-way. */
  mysql: string[];
  sqlite: string[];
}

/** Every migration, in version order (the index of version 2 and the tables of 5 are dropped again by 3 and 6, so a database below them skips them). A new version appends a file and a line here. */
export const MIGRATIONS: Migration[] = [initial, userloadInIndexes, reportSummaries, summariesFullOnly, jobsAndClusters, packageTrends];
