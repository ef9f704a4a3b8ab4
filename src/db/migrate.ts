import { MysqlClient, type SqlClient } from './client';
import { MigrateClaim } from './migrate-claim';
import { MIGRATIONS, type Migration } from './migrations';
import { DEFAULT_RETRY, withRetry } from './retry';

export type Dialect = 'mysql' | 'sqlite';

/** The version the code expects; a database below it must be migrated before loading. */
export const LATEST_VERSION = MIGRATIONS[MIGRATIONS.length - 1].version;

const SCHEMA_TABLE: Record<Dialect, string> = {
  mysql:
    'CREATE TABLE IF NOT EXISTS lmod_schema (version INT NOT NULL PRIMARY KEY, applied_at DATETIME NOT NULL) ' +
    'ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin',
  sqlite: 'CREATE TABLE IF NOT EXISTS lmod_schema (version INTEGER NOT NULL PRIMARY KEY, applied_at TEXT NOT NULL)',
};

/** Recording a version is a no-op when a concurrent migrate recorded it first. */
function recordVersion(dialect: Dialect, version: number): string {
  return dialect === 'mysql'
    ? `INSERT INTO lmod_schema (version, applied_at) VALUES (${version}, UTC_TIMESTAMP()) ON DUPLICATE KEY UPDATE version = version`
    : `INSERT INTO lmod_schema (version, applied_at) VALUES (${version}, datetime('now')) ON CONFLICT (version) DO NOTHING`;
}

/** The statements that apply one migration and record it. */
function migrationStatements(migration: Migration, dialect: Dialect): string[] {
  return [...migration[dialect], recordVersion(dialect, migration.version)];
}

export interface SchemaStatus {
  /** The highest applied version; 0 when the database has no lmod-tracking schema. */
  current: number;
  latest: number;
  pending: Migration[];
}

export async function schemaStatus(client: SqlClient): Promise<SchemaStatus> {
  const exists =
    client.dialect === 'mysql'
      ? await client.query("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'lmod_schema'")
      : await client.query("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'lmod_schema'");
  let current = 0;
  if (exists.length > 0) {
    const [row] = await client.query<{ v: number | null }>('SELECT MAX(version) AS v FROM lmod_schema');
    current = Number(row?.v ?? 0);
  }
  return { current, latest: LATEST_VERSION, pending: MIGRATIONS.filter((m) => m.version > current) };
}

export interface MigrateOptions {
  /** MySQL: told when this migrate waits for another's claim, takes over a stale one, or cannot release its own. */
  notify?: (message: string) => void;
}

/**
 * Applies the pending migrations in order and returns the status before. SQLite applies them in one transaction (its DDL
 * is transactional). MySQL commits each DDL statement, which is why every statement may be run again, and why a run cut
 * by a deadlock or lost connection is simply run again; migrates take turns through a claimed row (MigrateClaim), on one
 * server as on every node of a Galera cluster.
 */
export async function migrate(client: SqlClient, options: MigrateOptions = {}): Promise<SchemaStatus> {
  if (!(client instanceof MysqlClient)) return applyPending(client);
  const claim = new MigrateClaim(options.notify ?? (() => {}));
  try {
    for (let attempt = 1; ; attempt++) {
      try {
        // One MySQL session for all steps: a migration may use session variables and prepared statements.
        return await withRetry(
          () =>
            client.withSession(async (session) => {
              await claim.take(session);
              return applyPending(session, () => claim.renew(session));
            }),
          DEFAULT_RETRY,
        );
      } catch (err) {
        if (attempt === 3 || !RUN_AGAIN.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
    }
  } finally {
    await claim.release(client);
  }
}

/**
 * Run again from the claim: a claim taken over while one statement ran past STALE_AFTER_SECONDS, and what a statement
 * meets when something else changed the schema a moment before (a DBA applying `migrate --sql`, an older lmod-load's
 * migrate, the statement the taken-over holder still ran): the statements already done are skipped.
 */
const RUN_AGAIN = new Set(['LMOD_MIGRATE_CLAIM_LOST', 'ER_DUP_FIELDNAME', 'ER_DUP_KEYNAME', 'ER_TABLE_EXISTS_ERROR', 'ER_CANT_DROP_FIELD_OR_KEY']);

/** `beforeEach` runs before every statement (MySQL: the claim is renewed). */
async function applyPending(client: SqlClient, beforeEach: () => Promise<void> = async () => {}): Promise<SchemaStatus> {
  const dialect = client.dialect;
  if (dialect === 'sqlite') await client.query('BEGIN IMMEDIATE');
  try {
    const before = await schemaStatus(client);
    // Only where it may be missing: on Galera even a CREATE TABLE of a table that is there replicates as DDL.
    if (before.current === 0) await client.query(SCHEMA_TABLE[dialect]);
    for (const migration of before.pending) {
      for (const statement of migrationStatements(migration, dialect)) {
        await beforeEach();
        await client.query(statement);
      }
    }
    if (dialect === 'sqlite') await client.query('COMMIT');
    return before;
  } catch (err) {
    if (dialect === 'sqlite') await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The whole schema as a script a DBA can read and apply (`mariadb DB < schema.sql`). */
export function ddl(dialect: Dialect): string {
  const header = `-- lmod-tracking schema v${LATEST_VERSION} (${dialect}); safe to apply again.\n`;
  const parts = [SCHEMA_TABLE[dialect], ...MIGRATIONS.flatMap((m) => [`-- v${m.version}: ${m.description}`, ...migrationStatements(m, dialect)])];
  return header + parts.map((p) => (p.startsWith('--') ? p : `${p};`)).join('\n\n') + '\n';
}
