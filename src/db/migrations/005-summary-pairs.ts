import type { Migration } from './index';

/**
 * What keeps the summaries of migration 004 current without reading every load again.
 * `summary_pairs` holds the distinct (module, user), (module, host), (package, user) and
 * (package, host) pairs behind the summaries' distinct counts, one row per module or package
 * and kind, its users or hosts packed in `members` with the variants each occurs in
 * (src/report/summary-pairs.ts). `summary_pending` holds, per load transaction
 * that added rows, those rows as text (NULL when the loader could not tell which rows were
 * new), keyed by the generation that transaction gave the loads. The 'pairs' state is the
 * summaries' generation the pairs belong to (0: none), and loaders write pending rows only
 * while it is set. `lmod-load` then folds the pending rows into the summaries (summary-fold.ts).
 */
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
