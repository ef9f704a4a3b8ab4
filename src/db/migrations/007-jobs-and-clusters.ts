import type { Migration } from './index';

/**
 * Slurm's jobs (lmod-jobs) beside the loads, and the cluster of each load, so loads join their job by (cluster, jobid).
 * A load's cluster is NULL when unknown; a job's is '' (a key column), and either unknown matches any. The summaries
 * gain the jobs' weights and an accounts table, and are marked out of date so the next summarize fills them.
 */
const TABLE_OPTIONS = 'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';
const WEIGHTS = 'jobs BIGINT NOT NULL DEFAULT 0, core_hours DOUBLE NOT NULL DEFAULT 0, gpu_hours DOUBLE NOT NULL DEFAULT 0';

const FLAT_VIEW = `SELECT l.time AS time, u.name AS user, NULLIF(h.name, '') AS host, m.module AS module,
  m.name AS name, m.version AS version, p.path AS path, l.jobid AS jobid, l.userload AS userload, l.cluster AS cluster, l.extra AS extra
FROM module_loads l
JOIN users u ON u.id = l.user_id
JOIN hosts h ON h.id = l.host_id
JOIN modules m ON m.id = l.module_id
LEFT JOIN paths p ON p.id = l.path_id`;

/** MySQL 8 has no ADD COLUMN IF NOT EXISTS: the statement runs only when the column is missing, so a rerun is safe. */
function addColumn(table: string, column: string, definition: string): string[] {
  const test = `(SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = '${table}' AND column_name = '${column}')`;
  return [
    `SET @lmod_ddl = IF(${test} = 0, 'ALTER TABLE ${table} ADD COLUMN ${column} ${definition}', 'DO 0')`,
    'PREPARE lmod_ddl_statement FROM @lmod_ddl',
    'EXECUTE lmod_ddl_statement',
    'DEALLOCATE PREPARE lmod_ddl_statement',
  ];
}

const migration: Migration = {
  version: 7,
  description: 'jobs, the cluster of each load, and the summaries weighted by jobs',
  mysql: [
    ...addColumn('module_loads', 'cluster', 'VARCHAR(64) NULL'),
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
  KEY ix_jobs_account (account)
) ${TABLE_OPTIONS}`,
    ...addColumn('summary_packages', 'jobs', WEIGHTS.replace(/, /g, ', ADD COLUMN ')),
    ...addColumn('summary_versions', 'jobs', WEIGHTS.replace(/, /g, ', ADD COLUMN ')),
    `CREATE TABLE IF NOT EXISTS summary_accounts (userload_only TINYINT NOT NULL, account VARCHAR(255) NOT NULL, ${WEIGHTS},
  top_modules TEXT NOT NULL, PRIMARY KEY (userload_only, account)) ${TABLE_OPTIONS}`,
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
    ...['summary_packages', 'summary_versions'].flatMap((table) => WEIGHTS.split(', ').map((column) => `ALTER TABLE ${table} ADD COLUMN ${column}`)),
    `CREATE TABLE IF NOT EXISTS summary_accounts (userload_only INTEGER NOT NULL, account TEXT NOT NULL, ${WEIGHTS},
  top_modules TEXT NOT NULL, PRIMARY KEY (userload_only, account))`,
    'DROP VIEW IF EXISTS module_loads_flat',
    `CREATE VIEW module_loads_flat AS ${FLAT_VIEW}`,
    "UPDATE summary_state SET generation = 0 WHERE name = 'summaries'",
  ],
};

export default migration;
