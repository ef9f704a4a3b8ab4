import type { Migration } from './index';

/**
 * lmod-report's `--userload-only`: without an index holding `userload`, MySQL fetches every row of a module through the
 * primary key (minutes at 5 million loads). This one is ordered like ix_loads_module, so the per-module reports stream
 * through it as they do through that one.
 */
const COLUMNS = '(userload, module_id, user_id)';

/** MySQL 8 has no CREATE INDEX IF NOT EXISTS (MariaDB has): the check makes the step safe to run again. */
const MYSQL_CREATE_IF_MISSING =
  "SET @lmod_ddl = IF((SELECT COUNT(*) FROM information_schema.statistics WHERE table_schema = DATABASE() AND table_name = 'module_loads' " +
  `AND index_name = 'ix_loads_userload') = 0, 'CREATE INDEX ix_loads_userload ON module_loads ${COLUMNS}', 'DO 0')`;

const migration: Migration = {
  version: 2,
  description: 'lmod-report: index for --userload-only',
  mysql: [MYSQL_CREATE_IF_MISSING, 'PREPARE lmod_ddl_statement FROM @lmod_ddl', 'EXECUTE lmod_ddl_statement', 'DEALLOCATE PREPARE lmod_ddl_statement'],
  sqlite: [`CREATE INDEX IF NOT EXISTS ix_loads_userload ON module_loads ${COLUMNS}`],
};

export default migration;
