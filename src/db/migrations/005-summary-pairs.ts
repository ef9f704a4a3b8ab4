import type { Migration } from './index';

/** Version 5 kept distinct pairs and pending loads to update the summaries per load; version 6 drops them again. */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

const migration: Migration = {
  version: 5,
  description: 'distinct pairs and pending loads, so lmod-load keeps the summaries current',
  mysql: [
    `CREATE TABLE IF NOT EXISTS summary_pairs (kind TINYINT UNSIGNED NOT NULL, a INT UNSIGNED NOT NULL, members LONGBLOB NOT NULL,
  PRIMARY KEY (kind, a)) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS summary_pending (generation BIGINT UNSIGNED NOT NULL PRIMARY KEY, loads LONGTEXT NULL) ${TABLE_OPTIONS}`,
    "INSERT IGNORE INTO summary_state (name, generation) VALUES ('pairs', 0)",
  ],
  sqlite: [
    'CREATE TABLE IF NOT EXISTS summary_pairs (kind INTEGER NOT NULL, a INTEGER NOT NULL, members BLOB NOT NULL, PRIMARY KEY (kind, a))',
    'CREATE TABLE IF NOT EXISTS summary_pending (generation INTEGER NOT NULL PRIMARY KEY, loads TEXT NULL)',
    "INSERT OR IGNORE INTO summary_state (name, generation) VALUES ('pairs', 0)",
  ],
};

export default migration;
