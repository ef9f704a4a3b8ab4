import { type MysqlClient, SqliteClient, openClient } from './client';
import { type DbConfig, DbConfigError } from './config';
import { migrate, schemaStatus } from './migrate';
import { MysqlStore } from './mysql-store';
import { SqliteStore } from './sqlite-store';
import type { LoadStore } from './store';
import type { RetryOptions } from './retry';

export interface OpenedStore {
  client: MysqlClient | SqliteClient;
  store: LoadStore;
}

/**
 * Opens the database for loading. A schema newer than this lmod-load is refused on both. SQLite brings an older schema
 * up to date itself; MySQL must have been migrated (by `lmod-load migrate` or a DBA applying `migrate --sql`), else the
 * message names the command to run.
 */
export async function openStore(config: DbConfig, inFlight: number, loadData = true, retry?: RetryOptions): Promise<OpenedStore> {
  const client = await openClient(config, { connections: inFlight, retry });
  try {
    const status = await schemaStatus(client);
    if (status.current > status.latest) {
      throw new DbConfigError(
        `${client.description} has schema v${status.current}, newer than this lmod-load knows (v${status.latest}): upgrade lmod-tracking`,
      );
    }
    if (client instanceof SqliteClient) {
      if (status.current < status.latest) await migrate(client);
      return { client, store: new SqliteStore(client) };
    }
    if (status.current < status.latest) {
      const what = status.current === 0 ? 'has no lmod-tracking schema' : `has schema v${status.current}, this lmod-load needs v${status.latest}`;
      throw new DbConfigError(`${client.description} ${what}: run \`lmod-load migrate\` (with the same --db or --env-file) first`);
    }
    return { client, store: await MysqlStore.open(client, inFlight, loadData) };
  } catch (err) {
    await client.close();
    throw err;
  }
}
