import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import Database from 'better-sqlite3';
import * as mysql from 'mysql2';
import type { Pool, PoolConnection } from 'mysql2/promise';
import { NO_RETRY, type RetryOptions, withRetry } from './retry';
import { type DbConfig, DbConfigError, type HostPort, hostList, type MysqlConfig, type SqliteConfig, describeDb } from './config';

/** What the tools need from either database: rows out, statements run, and a close. */
export interface SqlClient {
  readonly dialect: 'mysql' | 'sqlite';
  /** `mysql://user@host:port/db` or `sqlite:PATH`, never the password. */
  readonly description: string;
  /** Rows of a SELECT (or [] for other statements). `?` placeholders with `params`. */
  query<T = Record<string, unknown>>(sql: string, params?: unknown[]): Promise<T[]>;
  /** A statement that changes rows; resolves with how many it changed. */
  run(sql: string, params?: unknown[]): Promise<number>;
  /** Calls `onRow` with each row of a SELECT as an array, as the rows arrive: none is kept. */
  eachRow(sql: string, params: unknown[], onRow: (row: unknown[]) => void): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Connections the MySQL pool may open (batches in flight); default 1. */
  connections?: number;
  /** Retries of the first connection (default none). */
  retry?: RetryOptions;
}

/** Sessions are strict (an over-long value is an error, never a silent truncation) and in UTC; the mode list is one MySQL 8, MariaDB and TiDB all accept. */
const SESSION_SETUP = "SET SESSION sql_mode = 'STRICT_ALL_TABLES,NO_ENGINE_SUBSTITUTION,ONLY_FULL_GROUP_BY', time_zone = '+00:00'";

/** Errors that say a host is gone or cannot serve (1047: a Galera node outside the primary component): another may. */
const HOST_FAILED = new Set([
  'ECONNREFUSED',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
  'ECONNRESET',
  'EPIPE',
  'PROTOCOL_CONNECTION_LOST',
  'ER_SERVER_SHUTDOWN',
  'ER_CONNECTION_KILLED',
  'ER_UNKNOWN_COM_ERROR',
]);

/**
 * The pool of the host in use. A refused or lost connection sends the next connections to the next host of the list (in
 * order, then round again); the pools left keep what still runs on them until close().
 */
export class HostPools {
  private index = 0;
  private readonly pools: Pool[];

  constructor(
    private readonly hosts: HostPort[],
    private readonly poolFor: (host: HostPort) => Pool,
  ) {
    this.pools = [poolFor(hosts[0])];
  }

  get current(): Pool {
    return this.pools[this.pools.length - 1];
  }

  /** After `err` on a connection of `from`: the next host, unless there is none or another session has moved on already. */
  moveOn(from: Pool, err: unknown): void {
    const e = err as (NodeJS.ErrnoException & { fatal?: boolean }) | null;
    if (this.hosts.length === 1 || from !== this.current || !(e?.fatal === true || HOST_FAILED.has(e?.code ?? ''))) return;
    this.index = (this.index + 1) % this.hosts.length;
    this.pools.push(this.poolFor(this.hosts[this.index]));
  }

  async end(): Promise<void> {
    await Promise.all(this.pools.map((pool) => pool.end().catch(() => undefined)));
  }
}

export class MysqlClient implements SqlClient {
  readonly dialect = 'mysql';
  readonly description: string;
  private readonly hosts: HostPools;

  constructor(
    pools: HostPools | Pool,
    readonly config: MysqlConfig,
    /** Where statements go: the pool in use, or one session's connection (withSession) and the pool it came from. */
    private readonly session?: { connection: PoolConnection; from: Pool },
  ) {
    this.hosts = pools instanceof HostPools ? pools : new HostPools([config], () => pools);
    this.description = describeDb(config);
  }

  /** Runs `statement` on the session or the pool in use; an error that says the host failed moves the pool on. */
  private async send<R>(statement: (target: Pick<Pool, 'query'>) => Promise<R>): Promise<R> {
    const from = this.session?.from ?? this.hosts.current;
    try {
      return await statement(this.session?.connection ?? from);
    } catch (err) {
      this.hosts.moveOn(from, err);
      throw err;
    }
  }

  async query<T>(sql: string, params?: unknown[]): Promise<T[]> {
    const [rows] = await this.send((target) => target.query(sql, params));
    return Array.isArray(rows) ? (rows as T[]) : [];
  }

  /** Rows of a SELECT as arrays of column values, which are cheaper to make than objects. */
  async queryArrays(sql: string, params?: unknown[]): Promise<unknown[][]> {
    const [rows] = await this.send((target) => target.query({ sql, rowsAsArray: true }, params));
    return rows as unknown[][];
  }

  /** Calls `onRow` with each row of a SELECT as an array, as the rows arrive: none is kept. */
  async eachRow(sql: string, params: unknown[], onRow: (row: unknown[]) => void): Promise<void> {
    const from = this.hosts.current;
    try {
      const connection = await new Promise<mysql.PoolConnection>((resolve, reject) => from.pool.getConnection((err, c) => (err ? reject(err) : resolve(c))));
      try {
        await new Promise<void>((resolve, reject) => {
          connection
            .query({ sql, values: params, rowsAsArray: true })
            .on('result', (row) => onRow(row as unknown as unknown[]))
            .on('error', reject)
            .on('end', resolve);
        });
      } finally {
        connection.release();
      }
    } catch (err) {
      this.hosts.moveOn(from, err);
      throw err;
    }
  }

  /** A `LOAD DATA LOCAL INFILE` statement, its file being `data`: rows added and warnings. */
  async loadLocal(sql: string, data: Buffer): Promise<{ affectedRows: number; warnings: number }> {
    const [result] = await this.send((target) => target.query({ sql, infileStreamFactory: () => Readable.from([data]) }));
    const header = result as mysql.ResultSetHeader;
    return { affectedRows: header.affectedRows, warnings: header.warningStatus };
  }

  async run(sql: string, params?: unknown[]): Promise<number> {
    const [result] = await this.send((target) => target.query(sql, params));
    return (result as mysql.ResultSetHeader).affectedRows ?? 0;
  }

  /** Runs `body` with a client bound to one connection, for statements that share session state. */
  async withSession<T>(body: (session: MysqlClient) => Promise<T>): Promise<T> {
    const from = this.hosts.current;
    const connection = await from.getConnection().catch((err) => {
      this.hosts.moveOn(from, err);
      throw err;
    });
    try {
      return await body(new MysqlClient(this.hosts, this.config, { connection, from }));
    } finally {
      connection.release();
    }
  }

  async close(): Promise<void> {
    await this.hosts.end();
  }
}

/**
 * Runs `body` in one transaction (MySQL: on one connection; SQLite: BEGIN IMMEDIATE, so writers queue) and commits,
 * unless `keep` says no for its result or it throws: then the transaction is rolled back. Resolves with the body's
 * result.
 */
export async function inTransaction<C extends SqlClient, T>(client: C, body: (tx: C) => Promise<T>, keep: (result: T) => boolean = () => true): Promise<T> {
  const run = async (tx: C, begin: string): Promise<T> => {
    await tx.run(begin);
    let result: T;
    try {
      result = await body(tx);
    } catch (err) {
      await tx.run('ROLLBACK').catch(() => undefined);
      throw err;
    }
    await tx.run(keep(result) ? 'COMMIT' : 'ROLLBACK');
    return result;
  };
  if (client instanceof MysqlClient) return client.withSession((session) => run(session as unknown as C, 'START TRANSACTION'));
  return run(client, 'BEGIN IMMEDIATE');
}

export class SqliteClient implements SqlClient {
  readonly dialect = 'sqlite';
  readonly description: string;

  constructor(
    readonly db: Database.Database,
    config: SqliteConfig,
  ) {
    this.description = describeDb(config);
  }

  async query<T>(sql: string, params: unknown[] = []): Promise<T[]> {
    const statement = this.db.prepare(sql);
    return statement.reader ? (statement.all(...params) as T[]) : (statement.run(...params), []);
  }

  async run(sql: string, params: unknown[] = []): Promise<number> {
    return this.db.prepare(sql).run(...params).changes;
  }

  async eachRow(sql: string, params: unknown[], onRow: (row: unknown[]) => void): Promise<void> {
    for (const row of this.db
      .prepare(sql)
      .raw()
      .iterate(...params))
      onRow(row as unknown[]);
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close();
  }
}

/** Opens the configured database and checks that it answers; failures are one clear line. */
export async function openClient(config: DbConfig, options: OpenOptions = {}): Promise<MysqlClient | SqliteClient> {
  return config.dialect === 'sqlite' ? openSqlite(config) : openMysql(config, options.connections ?? 1, options.retry ?? NO_RETRY);
}

function openSqlite(config: SqliteConfig): SqliteClient {
  let db: Database.Database;
  try {
    // A second loader on the same file waits for the writer instead of failing at once.
    db = new Database(config.path, { timeout: 60_000 });
    db.pragma('journal_mode = WAL');
    // WAL + NORMAL survives a killed process (the journal is synced at checkpoints).
    db.pragma('synchronous = NORMAL');
    // The secondary indexes take keys in random order: a 32 MiB page cache (default 2 MiB) and fewer, larger checkpoints
    // keep a large load from rewriting the same pages.
    db.pragma('cache_size = -32768');
    db.pragma('wal_autocheckpoint = 16384');
  } catch (err) {
    const code = (err as { code?: string }).code ?? '';
    const hint = /CANTOPEN|READONLY|PERM/.test(code) ? ' (the file and its folder must be writable: SQLite keeps -wal and -shm files beside it)' : '';
    throw new DbConfigError(`cannot open SQLite database ${config.path}: ${(err as Error).message}${hint}`);
  }
  return new SqliteClient(db, config);
}

async function openMysql(config: MysqlConfig, connections: number, retry: RetryOptions): Promise<MysqlClient> {
  const options = mysqlConnectionOptions(config);
  const hosts = [config, ...(config.failover ?? [])];
  const poolFor = ({ host, port }: HostPort): Pool => {
    const core = mysql.createPool({ ...options, ...(config.socketPath === undefined && { host, port }), connectionLimit: connections, maxIdle: connections });
    core.on('connection', (connection) => {
      // Without a callback a failing setup would be an uncaught 'error'; without strict mode values could be cut silently.
      // So a connection that cannot be set up is not used.
      connection.query(SESSION_SETUP, (err) => {
        if (err) connection.destroy();
      });
    });
    return core.promise();
  };
  const client = new MysqlClient(new HostPools(hosts, poolFor), config);
  try {
    // A connection cut while connecting or setting up the session is retried as a batch would be; each host gets a try.
    await withRetry(() => client.query('SELECT 1'), { ...retry, retries: Math.max(retry.retries, hosts.length - 1) });
  } catch (err) {
    await client.close();
    throw new DbConfigError(describeConnectError(err as NodeJS.ErrnoException, config));
  }
  return client;
}

/** mysql2 options: dates as the server prints them (microseconds kept), exact affectedRows. */
export function mysqlConnectionOptions(config: MysqlConfig): mysql.PoolOptions {
  const options: mysql.PoolOptions = {
    user: config.user,
    password: config.password,
    database: config.database,
    charset: 'UTF8MB4_BIN',
    dateStrings: true,
    decimalNumbers: true,
    supportBigNumbers: true,
    connectTimeout: 10_000,
    // Without FOUND_ROWS a no-op ON DUPLICATE KEY UPDATE reports 0 affected rows, so a batch's affectedRows is exactly
    // its number of new rows.
    flags: ['-FOUND_ROWS'],
    // The default formatter scans every statement for `?`, megabytes of batch INSERT too.
    queryFormat: (sql: string, values: unknown) => (Array.isArray(values) && values.length > 0 ? mysql.format(sql, values) : sql),
  };
  if (config.socketPath !== undefined) options.socketPath = config.socketPath;
  else Object.assign(options, { host: config.host, port: config.port });
  if (config.tls !== undefined) {
    options.ssl = { rejectUnauthorized: config.tls.verify };
    if (config.tls.caFile !== undefined) {
      try {
        options.ssl.ca = readFileSync(config.tls.caFile, 'utf8');
      } catch (err) {
        throw new DbConfigError(`cannot read the TLS CA file ${config.tls.caFile}: ${(err as Error).message}`);
      }
    }
  }
  return options;
}

/** What to check, per failure; the message names everything but the password. */
function advice(err: NodeJS.ErrnoException, config: MysqlConfig): string {
  const refused = 'connection refused: is the server running, and are DB_HOST/DB_PORT (or --db) right?';
  const denied = 'access denied: check DB_USER and DB_PASS';
  const tls = `TLS failed (${err.message}): check DB_SSL_CA or ?ssl= in --db`;
  const unknown = 'unknown host: check DB_HOST (or --db)';
  const byCode: Record<string, string> = {
    ECONNREFUSED: refused,
    ENOTFOUND: unknown,
    EAI_AGAIN: unknown,
    ETIMEDOUT: 'connection timed out: check DB_HOST/DB_PORT and any firewall in between',
    ENOENT: `no socket at ${config.socketPath}: check DB_SOCKET`,
    ER_ACCESS_DENIED_ERROR: denied,
    ER_ACCESS_DENIED_NO_PASSWORD_ERROR: denied,
    ER_DBACCESS_DENIED_ERROR: `the user may not use database ${config.database}: GRANT it access, or check DB_NAME`,
    ER_BAD_DB_ERROR: `database ${config.database} does not exist: CREATE DATABASE ${config.database} CHARACTER SET utf8mb4 COLLATE utf8mb4_bin, or check DB_NAME`,
    HANDSHAKE_SSL_ERROR: tls,
    HANDSHAKE_NO_SSL_SUPPORT: tls,
  };
  return byCode[err.code ?? ''] ?? `${err.message}${err.code ? ` (${err.code})` : ''}`;
}

export function describeConnectError(err: NodeJS.ErrnoException, config: MysqlConfig): string {
  const where = config.socketPath !== undefined ? `socket ${config.socketPath}` : hostList(config);
  return redact(`cannot connect to MySQL database ${config.database} at ${where} as user ${config.user}: ${advice(err, config)}`, config.password);
}

/** A driver message never should hold the password; if one ever does, it is masked. */
function redact(text: string, password: string): string {
  return password.length >= 3 ? text.split(password).join('***') : text;
}
