import type { Migration } from './index';

/**
 * Slurm's jobs (lmod-jobs) beside the loads, and the cluster of each load, so loads join their job by (cluster, jobid).
 * A load's cluster is NULL when unknown; a job's is '' (a key column), and either unknown matches any. The package and
 * version summaries gain the jobs' weights, `accounts` gets its own, and all are marked out of date so the next
 * summarize fills them.
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
const WEIGHT_COLUMNS = ['jobs BIGINT NOT NULL DEFAULT 0', 'core_hours DOUBLE NOT NULL DEFAULT 0', 'gpu_hours DOUBLE NOT NULL DEFAULT 0'];

const FLAT_VIEW = `SELECT l.time AS time, u.name AS user, NULLIF(h.name, '') AS host, m.module AS module,
  m.name AS name, m.version AS version, p.path AS path, l.jobid AS jobid, l.userload AS userload, l.cluster AS cluster, l.extra AS extra
FROM module_loads l
JOIN users u ON u.id = l.user_id
JOIN hosts h ON h.id = l.host_id
JOIN modules m ON m.id = l.module_id
LEFT JOIN paths p ON p.id = l.path_id`;

/** MySQL 8 has no ADD COLUMN IF NOT EXISTS: the statement runs only when the first column is missing, so a rerun is safe. */
function addColumns(table: string, definitions: string[]): string[] {
  const column = definitions[0].split(' ')[0];
  const test = `(SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '${table}' AND column_name = '${column}')`;
  const alter = `ALTER TABLE ${table} ${definitions.map((d) => `ADD COLUMN ${d}`).join(', ')}`;
  return [
    `SET @lmod_ddl = IF(${test} = 0, '${alter}', 'DO 0')`,
    'PREPARE lmod_ddl_statement FROM @lmod_ddl',
    'EXECUTE lmod_ddl_statement',
    'DEALLOCATE PREPARE lmod_ddl_statement',
  ];
}

const migration: Migration = {
  version: 7,
  description: 'jobs, the cluster of each load, and the summaries weighted by jobs',
  mysql: [
    ...addColumns('module_loads', ['cluster VARCHAR(64) NULL']),
    `CREATE TABLE IF NOT EXISTS jobs (
  cluster VARCHAR(64) NOT NULL,
  jobid VARCHAR(128) NOT NULL,
  job VARCHAR(128) NOT NULL,
  user VARCHAR(255) NULL,
  account VARCHAR(255) NULL,
  partition_name VARCHAR(255) NULL,
  state VARCHAR(32) NULL,
  start_time DATETIME(6) NULL,
  end_time DATETIME(6) NULL,
  elapsed_s BIGINT UNSIGNED NOT NULL,
  cpus INT UNSIGNED NOT NULL,
  gpus INT UNSIGNED NOT NULL,
  nodes INT UNSIGNED NULL,
  PRIMARY KEY (cluster, jobid),
  KEY ix_jobs_jobid (jobid),
  KEY ix_jobs_account (account),
  KEY ix_jobs_end (end_time)
) ${TABLE_OPTIONS}`,
    ...addColumns('summary_packages', WEIGHT_COLUMNS),
    ...addColumns('summary_versions', WEIGHT_COLUMNS),
    `CREATE TABLE IF NOT EXISTS summary_accounts (userload_only TINYINT NOT NULL, account VARCHAR(255) NOT NULL, ${WEIGHT_COLUMNS.join(', ')},
  users BIGINT NOT NULL, top_modules TEXT NOT NULL, PRIMARY KEY (userload_only, account)) ${TABLE_OPTIONS}`,
    `CREATE OR REPLACE VIEW module_loads_flat AS ${FLAT_VIEW}`,
    "UPDATE summary_state SET generation = 0 WHERE name = 'summaries'",
  ],
  sqlite: [
    'ALTER TABLE module_loads ADD COLUMN cluster TEXT NULL',
    `CREATE TABLE IF NOT EXISTS jobs (cluster TEXT NOT NULL, jobid TEXT NOT NULL, job TEXT NOT NULL, user TEXT NULL, account TEXT NULL,
  partition_name TEXT NULL, state TEXT NULL, start_time TEXT NULL, end_time TEXT NULL, elapsed_s INTEGER NOT NULL, cpus INTEGER NOT NULL,
  gpus INTEGER NOT NULL, nodes INTEGER NULL, PRIMARY KEY (cluster, jobid)) WITHOUT ROWID`,
    'CREATE INDEX IF NOT EXISTS ix_jobs_jobid ON jobs (jobid)',
    'CREATE INDEX IF NOT EXISTS ix_jobs_account ON jobs (account)',
    'CREATE INDEX IF NOT EXISTS ix_jobs_end ON jobs (end_time)',
    ...['summary_packages', 'summary_versions'].flatMap((table) => WEIGHT_COLUMNS.map((column) => `ALTER TABLE ${table} ADD COLUMN ${column}`)),
    `CREATE TABLE IF NOT EXISTS summary_accounts (userload_only INTEGER NOT NULL, account TEXT NOT NULL, ${WEIGHT_COLUMNS.join(', ')},
  users INTEGER NOT NULL, top_modules TEXT NOT NULL, PRIMARY KEY (userload_only, account))`,
    'DROP VIEW IF EXISTS module_loads_flat',
    `CREATE VIEW module_loads_flat AS ${FLAT_VIEW}`,
    "UPDATE summary_state SET generation = 0 WHERE name = 'summaries'",
  ],
};

export default migration;
