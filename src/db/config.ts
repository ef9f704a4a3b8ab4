import { existsSync, readFileSync, statSync } from 'node:fs';
import * as dotenv from 'dotenv';

/** Where the embedded default lives when no MySQL is configured. */
const DEFAULT_SQLITE_PATH = './lmod_tracking.sqlite';

/** TLS for servers that require it: a CA file, or the system's CAs (`ca` absent). */
export interface TlsConfig {
  caFile?: string;
  /** false only with `?ssl=skip-verify`: encrypts but accepts any certificate. */
  verify: boolean;
}

export interface HostPort {
  host: string;
  port: number;
}

export interface MysqlConfig {
  dialect: 'mysql';
  host: string;
  port: number;
  /** Hosts after the first (`--db mysql://u@db1,db2:3307/d`, `DB_HOST=db1,db2`): where connections go, in order, when one refuses or is lost. */
  failover?: HostPort[];
  user: string;
  password: string;
  database: string;
  socketPath?: string;
  tls?: TlsConfig;
}

export interface SqliteConfig {
  dialect: 'sqlite';
  path: string;
  /** True when nothing was configured and the embedded default is used. */
  isDefault: boolean;
}

export type DbConfig = MysqlConfig | SqliteConfig;

export interface DbOptions {
  /** `mysql://user:pass@host:port/db[?ssl=...&socket=...]` or `sqlite:PATH`; overrides the environment. */
  db?: string;
  /** A dotenv file to read instead of `./.env`; it must exist. */
  envFile?: string;
  /** The real environment (process.env); its variables win over the file's. */
  env?: NodeJS.ProcessEnv;
  /** Told of a password where others may read it (a command line, a file readable by group or others). */
  warn?: (message: string) => void;
}

/**
 * The database to use: `--db` if given, else DB_* from the environment and the env file, else the SQLite default.
 * Configuration mistakes throw a DbConfigError.
 */
export function resolveDbConfig(options: DbOptions = {}): DbConfig {
  const warn = options.warn ?? (() => {});
  if (options.db !== undefined) {
    const config = parseDbUrl(options.db);
    if (config.dialect === 'mysql' && config.password !== '')
      warn('a password in --db shows in the process list: set DB_PASS or DB_PASS_FILE, or put it in .env (mode 0600)');
    return config;
  }
  const env = loadEnv(options.env ?? process.env, options.envFile, warn);
  if (!env.DB_NAME && !env.DB_USER) return { dialect: 'sqlite', path: DEFAULT_SQLITE_PATH, isDefault: true };
  if (!env.DB_NAME) throw configError('DB_USER is set but DB_NAME is not: set DB_NAME to the database to load into');
  if (!env.DB_USER) throw configError('DB_NAME is set but DB_USER is not: set DB_USER (and DB_PASS)');
  const port = parsePort(env.DB_PORT || '3306', 'DB_PORT');
  const [first, ...failover] = env.DB_HOST?.includes(',') ? parseHosts(env.DB_HOST, port, 'DB_HOST') : [{ host: env.DB_HOST || 'localhost', port }];
  const config: MysqlConfig = { dialect: 'mysql', ...first, user: env.DB_USER, password: env.DB_PASS ?? '', database: env.DB_NAME };
  if (failover.length > 0) config.failover = failover;
  if (env.DB_PASS_FILE) {
    if (env.DB_PASS !== undefined) throw configError('DB_PASS and DB_PASS_FILE are both set: keep one');
    config.password = readSecret(env.DB_PASS_FILE, warn);
  }
  if (env.DB_SOCKET) {
    if (failover.length > 0) throw configError('DB_SOCKET takes one host, not a DB_HOST list');
    config.socketPath = env.DB_SOCKET;
  }
  if (env.DB_SSL_CA) config.tls = { caFile: env.DB_SSL_CA, verify: true };
  return config;
}

/**
 * The real environment over the env file's values: dotenv fills only variables that are not set already. `quiet` because
 * some dotenv versions print a banner into the pipe.
 */
/** The password in a file (its first line), with a warning when group or others may read it, as ssh warns for keys. */
function readSecret(path: string, warn: (message: string) => void): string {
  try {
    warnIfShared(path, warn);
    return readFileSync(path, 'utf8').split(/\r?\n/)[0];
  } catch (err) {
    throw configError(`DB_PASS_FILE ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'No such file or directory' : (err as Error).message}`);
  }
}

function warnIfShared(path: string, warn: (message: string) => void): void {
  const mode = statSync(path).mode & 0o777;
  if (mode & 0o077) warn(`${path} holds a password and is readable by group or others (mode 0${mode.toString(8)}): chmod 600 ${path}`);
}

function loadEnv(env: NodeJS.ProcessEnv, envFile: string | undefined, warn: (message: string) => void): NodeJS.ProcessEnv {
  const path = envFile ?? '.env';
  if (envFile !== undefined && !existsSync(envFile)) throw configError(`--env-file ${envFile}: No such file or directory`);
  if (envFile === undefined && !existsSync(path)) return env;
  const merged: NodeJS.ProcessEnv = { ...env };
  const result = dotenv.config({ path, quiet: true, processEnv: merged as dotenv.DotenvPopulateInput, override: false });
  if (result.error) throw configError(`${path}: ${result.error.message}`);
  if (result.parsed?.DB_PASS) warnIfShared(path, warn);
  return merged;
}

/** Parses `--db`: `mysql://user:pass@host:port/db?ssl=...&socket=...` or `sqlite:PATH`. */
export function parseDbUrl(url: string): DbConfig {
  if (url.startsWith('sqlite:')) {
    const path = url.slice('sqlite:'.length).replace(/^\/\/(?=\/)/, '');
    if (path === '') throw configError('--db sqlite:PATH needs a file path, e.g. sqlite:./lmod_tracking.sqlite');
    return { dialect: 'sqlite', path, isDefault: false };
  }
  if (!/^mysql:\/\//i.test(url)) {
    throw configError('--db must be mysql://user:pass@host:port/database or sqlite:PATH');
  }
  // Several hosts (`db1:3306,db2:3306`), which URL does not parse: the first stands in the URL, the others are read alone.
  const [, head, hosts, tail] = /^(mysql:\/\/(?:[^@/?#]*@)?)([^/?#]*)(.*)$/i.exec(url) as RegExpExecArray;
  const comma = hosts.indexOf(',');
  const failover = comma < 0 ? [] : parseHosts(hosts, 3306, '--db').slice(1);
  let parsed: URL;
  try {
    parsed = new URL(head + (comma < 0 ? hosts : hosts.slice(0, comma)) + tail);
  } catch {
    // The URL itself may hold the password: never echo it.
    throw configError('--db is not a valid mysql:// URL (expected mysql://user:pass@host:port/database)');
  }
  const database = decodeURIComponent(parsed.pathname.replace(/^\//, ''));
  if (database === '' || database.includes('/')) throw configError('--db mysql:// URL needs a database name: mysql://user:pass@host:port/database');
  if (parsed.username === '') throw configError('--db mysql:// URL needs a user: mysql://user:pass@host:port/database');
  const config: MysqlConfig = {
    dialect: 'mysql',
    host: hostOf(parsed) || 'localhost',
    port: parsed.port === '' ? 3306 : parsePort(parsed.port, '--db port'),
    user: decodeURIComponent(parsed.username),
    password: decodeURIComponent(parsed.password),
    database,
  };
  for (const [key, value] of parsed.searchParams) {
    if (key === 'socket') config.socketPath = value;
    else if (key === 'ssl') config.tls = parseSsl(value);
    else throw configError(`--db: unknown URL parameter "${key}" (known: ssl, socket)`);
  }
  if (failover.length > 0) {
    if (config.socketPath !== undefined) throw configError('--db: socket= takes one host, not a list');
    config.failover = failover;
  }
  return config;
}

/** `db1,db2:3307,[::1]`: each host with its own port, else `port`. Never echoed: a mistyped --db may hold the password. */
function parseHosts(list: string, port: number, what: string): HostPort[] {
  return list.split(',').map((entry) => {
    let url: URL | undefined;
    try {
      url = new URL(`mysql://${entry}`);
    } catch {}
    if (url === undefined || url.hostname === '' || url.username !== '' || url.password !== '')
      throw configError(`${what}: a host list is hosts or host:port separated by commas (mysql://user@db1,db2:3307/database)`);
    return { host: hostOf(url), port: url.port === '' ? port : parsePort(url.port, `${what} port`) };
  });
}

/** An IPv6 address without its brackets. */
function hostOf(url: URL): string {
  return url.hostname.replace(/^\[(.*)\]$/, '$1');
}

/** `ssl=true` (system CAs), `ssl=skip-verify`, `ssl=/path/ca.pem`; `ssl=false` disables. */
function parseSsl(value: string): TlsConfig | undefined {
  if (value === 'false' || value === '0') return undefined;
  if (value === 'true' || value === '1' || value === 'required') return { verify: true };
  if (value === 'skip-verify') return { verify: false };
  return { caFile: value, verify: true };
}

function parsePort(text: string, what: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) throw configError(`${what} must be a port number (1-65535), not "${text}"`);
  return port;
}

/** A configuration mistake; the CLIs print it as one line and exit 2. */
export class DbConfigError extends Error {
  override name = 'DbConfigError';
}

function configError(message: string): DbConfigError {
  return new DbConfigError(message);
}

/** `mysql://user@host:port/database` (never the password) or `sqlite:PATH`. */
export function describeDb(config: DbConfig): string {
  if (config.dialect === 'sqlite') return `sqlite:${config.path}`;
  const where = config.socketPath !== undefined ? `${config.host} (socket ${config.socketPath})` : hostList(config);
  return `mysql://${config.user}@${where}/${config.database}`;
}

/** `db1:3306` or, with failover hosts, `db1:3306,db2:3306`. */
export function hostList(config: MysqlConfig): string {
  return [config, ...(config.failover ?? [])].map(({ host, port }) => `${host}:${port}`).join(',');
}
