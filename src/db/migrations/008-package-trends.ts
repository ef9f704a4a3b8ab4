import type { Migration } from './index';

/**
 * Each package's loads per period, the small trend beside every module of the HTML page: summarize stores them for the
 * period the whole span of loads calls for (days, weeks or months), and marks the summaries out of date until it has.
 */
const migration: Migration = {
  version: 8,
  description: 'loads per package and period for the HTML page',
  mysql: [
    `CREATE TABLE IF NOT EXISTS summary_package_periods (userload_only TINYINT NOT NULL, every VARCHAR(5) NOT NULL, period DATE NOT NULL,
  name VARCHAR(255) NOT NULL, loads BIGINT UNSIGNED NOT NULL, PRIMARY KEY (userload_only, every, name, period))
  ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin`,
    "UPDATE summary_state SET generation = 0 WHERE name = 'summaries'",
  ],
  sqlite: [
    `CREATE TABLE IF NOT EXISTS summary_package_periods (userload_only INTEGER NOT NULL, every TEXT NOT NULL, period TEXT NOT NULL,
  name TEXT NOT NULL, loads INTEGER NOT NULL, PRIMARY KEY (userload_only, every, name, period))`,
    "UPDATE summary_state SET generation = 0 WHERE name = 'summaries'",
  ],
};

export default migration;
