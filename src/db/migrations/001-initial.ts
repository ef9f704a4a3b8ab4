import type { Migration } from './index';

/** MySQL 8, MariaDB and TiDB alike: binary utf8mb4 keys, no foreign keys (the loader owns the ids). */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/** The view bodies are plain SQL both dialects read the same way. */
const FLAT_VIEW = `SELECT l.time AS time, u.name AS user, NULLIF(h.name, '') AS host, m.module AS module,
  m.name AS name, m.version AS version, p.path AS path, l.jobid AS jobid, l.userload AS userload, l.extra AS extra
FROM module_loads l
JOIN users u ON u.id = l.user_id
JOIN hosts h ON h.id = l.host_id
JOIN modules m ON m.id = l.module_id
LEFT JOIN paths p ON p.id = l.path_id`;

/** Hosts are counted without the '' row that stands for "host not logged". */
const PACKAGE_VIEW = `SELECT m.name AS name, COUNT(*) AS loads, COUNT(DISTINCT l.user_id) AS users,
  COUNT(DISTINCT NULLIF(h.name, '')) AS hosts, MIN(l.time) AS first_load, MAX(l.time) AS last_load
FROM module_loads l
JOIN modules m ON m.id = l.module_id
JOIN hosts h ON h.id = l.host_id
GROUP BY m.name`;

const VERSION_VIEW = `SELECT m.module AS module, m.name AS name, m.version AS version, COUNT(*) AS loads,
  COUNT(DISTINCT l.user_id) AS users, COUNT(DISTINCT NULLIF(h.name, '')) AS hosts,
  MIN(l.time) AS first_load, MAX(l.time) AS last_load
FROM module_loads l
JOIN modules m ON m.id = l.module_id
JOIN hosts h ON h.id = l.host_id
GROUP BY m.id, m.module, m.name, m.version`;

const migration: Migration = {
  version: 1,
  description: 'users, hosts, modules, paths, module_loads and the flat and count views',
  mysql: [
    `CREATE TABLE IF NOT EXISTS users (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_users_name (name)
) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS hosts (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  name VARCHAR(255) NOT NULL,
  UNIQUE KEY uq_hosts_name (name)
) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS modules (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  module VARCHAR(255) NOT NULL,
  name VARCHAR(255) NOT NULL,
  version VARCHAR(255) NULL,
  UNIQUE KEY uq_modules_module (module),
  KEY ix_modules_name (name)
) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS paths (
  id INT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY,
  path VARCHAR(768) NOT NULL,
  UNIQUE KEY uq_paths_path (path)
) ${TABLE_OPTIONS}`,
    `CREATE TABLE IF NOT EXISTS module_loads (
  time DATETIME(6) NOT NULL,
  user_id INT UNSIGNED NOT NULL,
  host_id INT UNSIGNED NOT NULL,
  module_id INT UNSIGNED NOT NULL,
  path_id INT UNSIGNED NULL,
  jobid VARCHAR(128) NULL,
  userload TINYINT(1) NULL,
  extra TEXT NULL,
  PRIMARY KEY (time, user_id, host_id, module_id),
  KEY ix_loads_module (module_id, time, user_id),
  KEY ix_loads_user (user_id, time)
) ${TABLE_OPTIONS}`,
    `CREATE OR REPLACE VIEW module_loads_flat AS ${FLAT_VIEW}`,
    `CREATE OR REPLACE VIEW package_counts AS ${PACKAGE_VIEW}`,
    `CREATE OR REPLACE VIEW version_counts AS ${VERSION_VIEW}`,
  ],
  sqlite: [
    'CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT NOT NULL, CONSTRAINT uq_users_name UNIQUE (name))',
    'CREATE TABLE IF NOT EXISTS hosts (id INTEGER PRIMARY KEY, name TEXT NOT NULL, CONSTRAINT uq_hosts_name UNIQUE (name))',
    `CREATE TABLE IF NOT EXISTS modules (id INTEGER PRIMARY KEY, module TEXT NOT NULL, name TEXT NOT NULL, version TEXT NULL,
  CONSTRAINT uq_modules_module UNIQUE (module))`,
    'CREATE INDEX IF NOT EXISTS ix_modules_name ON modules (name)',
    'CREATE TABLE IF NOT EXISTS paths (id INTEGER PRIMARY KEY, path TEXT NOT NULL, CONSTRAINT uq_paths_path UNIQUE (path))',
    `CREATE TABLE IF NOT EXISTS module_loads (
  time TEXT NOT NULL,
  user_id INTEGER NOT NULL,
  host_id INTEGER NOT NULL,
  module_id INTEGER NOT NULL,
  path_id INTEGER NULL,
  jobid TEXT NULL,
  userload INTEGER NULL,
  extra TEXT NULL,
  PRIMARY KEY (time, user_id, host_id, module_id)
) WITHOUT ROWID`,
    'CREATE INDEX IF NOT EXISTS ix_loads_module ON module_loads (module_id, time, user_id)',
    'CREATE INDEX IF NOT EXISTS ix_loads_user ON module_loads (user_id, time)',
    `CREATE VIEW IF NOT EXISTS module_loads_flat AS ${FLAT_VIEW}`,
    `CREATE VIEW IF NOT EXISTS package_counts AS ${PACKAGE_VIEW}`,
    `CREATE VIEW IF NOT EXISTS version_counts AS ${VERSION_VIEW}`,
  ],
};

export default migration;
