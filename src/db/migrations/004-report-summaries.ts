import type { Migration } from './index';

/**
 * The whole-table reports, stored by `lmod-load summarize`: per package, per version, per user and per period, each for
 * all loads and for user loads only (`userload_only`), with the columns and values the reports compute from the loads.
 * `summary_state` says whether they are current: 'loads' counts the load transactions that added rows (the loader bumps
 * it in the same transaction), 'summaries' is that count when they were computed. A report reads them only when the two
 * are equal, so it never shows a count that misses a committed load.
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
const COUNTS = 'loads BIGINT UNSIGNED NOT NULL, users BIGINT UNSIGNED NOT NULL';
const SPAN = 'first_load DATETIME(6) NOT NULL, last_load DATETIME(6) NOT NULL';

const migration: Migration = {
  version: 4,
  description: 'whole-table reports stored by lmod-load summarize, and whether they are current',
  mysql: [
    `CREATE TABLE IF NOT EXISTS summary_state (name VARCHAR(32) NOT NULL PRIMARY KEY, generation BIGINT UNSIGNED NOT NULL) ${TABLE_OPTIONS}`,
    "INSERT IGNORE INTO summary_state (name, generation) VALUES ('loads', 1), ('summaries', 0)",
    `CREATE TABLE IF NOT EXISTS summary_packages (userload_only TINYINT NOT NULL, name VARCHAR(255) NOT NULL, versions BIGINT UNSIGNED NOT NULL,
  ${COUNTS}, hosts BIGINT UNSIGNED NOT NULL, ${SPAN}, PRIMARY KEY (userload_only, name)) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS summary_versions (userload_only TINYINT NOT NULL, module VARCHAR(255) NOT NULL, name VARCHAR(255) NOT NULL,
  version VARCHAR(255) NULL, ${COUNTS}, hosts BIGINT UNSIGNED NOT NULL, ${SPAN}, PRIMARY KEY (userload_only, module)) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS summary_users (userload_only TINYINT NOT NULL, user VARCHAR(255) NOT NULL, loads BIGINT UNSIGNED NOT NULL,
  modules BIGINT UNSIGNED NOT NULL, ${SPAN}, PRIMARY KEY (userload_only, user)) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS summary_periods (userload_only TINYINT NOT NULL, every VARCHAR(5) NOT NULL, period DATE NOT NULL,
  ${COUNTS}, PRIMARY KEY (userload_only, every, period)) ${TABLE_OPTIONS}`,
  ],
  sqlite: [
    'CREATE TABLE IF NOT EXISTS summary_state (name TEXT NOT NULL PRIMARY KEY, generation INTEGER NOT NULL)',
    "INSERT OR IGNORE INTO summary_state (name, generation) VALUES ('loads', 1), ('summaries', 0)",
    `CREATE TABLE IF NOT EXISTS summary_packages (userload_only INTEGER NOT NULL, name TEXT NOT NULL, versions INTEGER NOT NULL,
  loads INTEGER NOT NULL, users INTEGER NOT NULL, hosts INTEGER NOT NULL, first_load TEXT NOT NULL, last_load TEXT NOT NULL, PRIMARY KEY (userload_only, name))`,
    `CREATE TABLE IF NOT EXISTS summary_versions (userload_only INTEGER NOT NULL, module TEXT NOT NULL, name TEXT NOT NULL, version TEXT NULL,
  loads INTEGER NOT NULL, users INTEGER NOT NULL, hosts INTEGER NOT NULL, first_load TEXT NOT NULL, last_load TEXT NOT NULL, PRIMARY KEY (userload_only, module))`,
    `CREATE TABLE IF NOT EXISTS summary_users (userload_only INTEGER NOT NULL, user TEXT NOT NULL, loads INTEGER NOT NULL, modules INTEGER NOT NULL,
  first_load TEXT NOT NULL, last_load TEXT NOT NULL, PRIMARY KEY (userload_only, user))`,
    `CREATE TABLE IF NOT EXISTS summary_periods (userload_only INTEGER NOT NULL, every TEXT NOT NULL, period TEXT NOT NULL,
  loads INTEGER NOT NULL, users INTEGER NOT NULL, PRIMARY KEY (userload_only, every, period))`,
  ],
};

export default migration;
