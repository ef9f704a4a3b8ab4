import { test } from 'node:test';
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DbConfigError, describeDb, parseDbUrl, resolveDbConfig } from '../../src/db/config';
import { describeConnectError, openClient } from '../../src/db/client';
import { tempDir } from '../helpers/load';

test('no MySQL configured: the SQLite default', () => {
  const dir = tempDir('cfg');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    assert.deepEqual(resolveDbConfig({ env: {} }), { dialect: 'sqlite', path: './lmod_tracking.sqlite', isDefault: true });
  } finally {
    process.chdir(cwd);
  }
});

test('DB_* from the environment, with defaults for host and port', () => {
  assert.deepEqual(resolveDbConfig({ env: { DB_USER: 'lmod', DB_PASS: 's3cret', DB_NAME: 'tracking' }, envFile: undefined, db: undefined }), {
    dialect: 'mysql',
    host: 'localhost',
    port: 3306,
    user: 'lmod',
    password: 's3cret',
    database: 'tracking',
  });
  assert.deepEqual(
    resolveDbConfig({
      env: { DB_USER: 'u', DB_NAME: 'd', DB_HOST: 'db1', DB_PORT: '3307', DB_SOCKET: '/run/mysqld.sock', DB_SSL_CA: '/etc/ca.pem' },
    }),
    {
      dialect: 'mysql',
      host: 'db1',
      port: 3307,
      user: 'u',
      password: '',
      database: 'd',
      socketPath: '/run/mysqld.sock',
      tls: { caFile: '/etc/ca.pem', verify: true },
    },
  );
});

test('an env file fills what the real environment does not set', () => {
  const dir = tempDir('cfg');
  const file = join(dir, 'lmod.env');
  writeFileSync(file, 'DB_USER=fromfile\nDB_PASS="p w#d"\nDB_NAME=filedb\nDB_HOST=filehost\n');
  const config = resolveDbConfig({ envFile: file, env: { DB_HOST: 'realhost' } });
  assert.deepEqual(config, { dialect: 'mysql', host: 'realhost', port: 3306, user: 'fromfile', password: 'p w#d', database: 'filedb' });
  assert.throws(() => resolveDbConfig({ envFile: join(dir, 'missing.env'), env: {} }), {
    message: `--env-file ${join(dir, 'missing.env')}: No such file or directory`,
  });
});

test('./.env is read from the working directory', () => {
  const dir = tempDir('cfg');
  writeFileSync(join(dir, '.env'), 'DB_USER=dot\nDB_NAME=dotdb\n');
  const cwd = process.cwd();
  process.chdir(dir);
  try {
    assert.equal(describeDb(resolveDbConfig({ env: {} })), 'mysql://dot@localhost:3306/dotdb');
  } finally {
    process.chdir(cwd);
  }
});

test('half a MySQL configuration is an error naming what is missing', () => {
  assert.throws(() => resolveDbConfig({ env: { DB_USER: 'u' } }), {
    message: 'DB_USER is set but DB_NAME is not: set DB_NAME to the database to load into',
  });
  assert.throws(() => resolveDbConfig({ env: { DB_NAME: 'd' } }), {
    message: 'DB_NAME is set but DB_USER is not: set DB_USER (and DB_PASS)',
  });
  assert.throws(() => resolveDbConfig({ env: { DB_NAME: 'd', DB_USER: 'u', DB_PORT: 'x' } }), {
    message: 'DB_PORT must be a port number (1-65535), not "x"',
  });
});

test('--db URLs override the environment', () => {
  assert.deepEqual(resolveDbConfig({ db: 'mysql://lmod:p%40ss@db.example.org:3310/lmod?ssl=true', env: { DB_USER: 'x', DB_NAME: 'y' } }), {
    dialect: 'mysql',
    host: 'db.example.org',
    port: 3310,
    user: 'lmod',
    password: 'p@ss',
    database: 'lmod',
    tls: { verify: true },
  });
  assert.deepEqual(parseDbUrl('mysql://u@h/d?ssl=/etc/ca.pem&socket=/tmp/s'), {
    dialect: 'mysql',
    host: 'h',
    port: 3306,
    user: 'u',
    password: '',
    database: 'd',
    socketPath: '/tmp/s',
    tls: { caFile: '/etc/ca.pem', verify: true },
  });
  assert.deepEqual(parseDbUrl('mysql://u@h/d?ssl=skip-verify'), {
    dialect: 'mysql',
    host: 'h',
    port: 3306,
    user: 'u',
    password: '',
    database: 'd',
    tls: { verify: false },
  });
  assert.deepEqual(parseDbUrl('sqlite:/var/lib/lmod.sqlite'), { dialect: 'sqlite', path: '/var/lib/lmod.sqlite', isDefault: false });
  assert.deepEqual(parseDbUrl('sqlite:rel.sqlite'), { dialect: 'sqlite', path: 'rel.sqlite', isDefault: false });
});

test('--db with several hosts: the first, then the others in order as failover', () => {
  const config = parseDbUrl('mysql://lmod:p%40ss@db1,db2:3307,[::1]/lmod?ssl=true');
  assert.deepEqual(config, {
    dialect: 'mysql',
    host: 'db1',
    port: 3306,
    failover: [
      { host: 'db2', port: 3307 },
      { host: '::1', port: 3306 },
    ],
    user: 'lmod',
    password: 'p@ss',
    database: 'lmod',
    tls: { verify: true },
  });
  assert.equal(describeDb(config), 'mysql://lmod@db1:3306,db2:3307,::1:3306/lmod');
  const env = { DB_USER: 'lmod', DB_NAME: 'lmod', DB_HOST: 'db1,db2:3307', DB_PORT: '3310' };
  assert.deepEqual(resolveDbConfig({ env }), {
    dialect: 'mysql',
    host: 'db1',
    port: 3310,
    failover: [{ host: 'db2', port: 3307 }],
    user: 'lmod',
    password: '',
    database: 'lmod',
  });
  assert.throws(() => resolveDbConfig({ env: { ...env, DB_HOST: 'db1,' } }), { message: /^DB_HOST: a host list is hosts or host:port separated by commas/ });
});

const HOST_LIST = '--db: a host list is hosts or host:port separated by commas (mysql://user@db1,db2:3307/database)';

test('bad --db URLs are refused without echoing the password', () => {
  for (const [url, message] of [
    ['postgres://u:topsecret@h/d', '--db must be mysql://user:pass@host:port/database or sqlite:PATH'],
    ['mysql://u:topsecret@h', '--db mysql:// URL needs a database name: mysql://user:pass@host:port/database'],
    ['mysql://:topsecret@h/d', '--db mysql:// URL needs a user: mysql://user:pass@host:port/database'],
    ['mysql://u:topsecret@h:99999/d', '--db is not a valid mysql:// URL (expected mysql://user:pass@host:port/database)'],
    ['mysql://u:topsecret@h/d?sslmode=x', '--db: unknown URL parameter "sslmode" (known: ssl, socket)'],
    ['mysql://u:topsecret@h1,,h2/d', HOST_LIST],
    ['mysql://u:topsecret@h1,h2:99999/d', HOST_LIST],
    ['mysql://u:topsecret@h1,v:topsecret@h2/d', HOST_LIST],
    ['mysql://u:topsecret@,h2/d', HOST_LIST],
    ['mysql://u:topsecret@h1,h2/d?socket=/tmp/s', '--db: socket= takes one host, not a list'],
    ['sqlite:', '--db sqlite:PATH needs a file path, e.g. sqlite:./lmod_tracking.sqlite'],
  ]) {
    assert.throws(
      () => parseDbUrl(url),
      (err: Error) => {
        assert.ok(err instanceof DbConfigError);
        assert.equal(err.message, message);
        return true;
      },
    );
  }
});

test('describeDb and connection errors name host, port, user and database, never the password', async () => {
  const config = parseDbUrl('mysql://lmod:hunter22@127.0.0.1:1/lmoddb');
  assert.equal(describeDb(config), 'mysql://lmod@127.0.0.1:1/lmoddb');
  assert.equal(describeDb(parseDbUrl('mysql://lmod:hunter22@localhost/lmoddb?socket=/run/m.sock')), 'mysql://lmod@localhost (socket /run/m.sock)/lmoddb');
  await assert.rejects(openClient(config), {
    message:
      'cannot connect to MySQL database lmoddb at 127.0.0.1:1 as user lmod: connection refused: is the server running, and are DB_HOST/DB_PORT (or --db) right?',
  });
  await assert.rejects(openClient(parseDbUrl('mysql://lmod:hunter22@127.0.0.1:1,127.0.0.1:2/lmoddb')), {
    message:
      'cannot connect to MySQL database lmoddb at 127.0.0.1:1,127.0.0.1:2 as user lmod: connection refused: is the server running, and are DB_HOST/DB_PORT (or --db) right?',
  });
  if (config.dialect !== 'mysql') throw new Error('mysql expected');
  const leaky = Object.assign(new Error('auth failed for hunter22'), { code: 'ER_SOMETHING' });
  assert.equal(describeConnectError(leaky, config), 'cannot connect to MySQL database lmoddb at 127.0.0.1:1 as user lmod: auth failed for *** (ER_SOMETHING)');
});

test('passwords: DB_PASS_FILE is read, and a password where others can read it is warned about', () => {
  const dir = mkdtempSync(join(tmpdir(), 'lmod-secret-'));
  const warnings: string[] = [];
  const warn = (m: string): void => void warnings.push(m);
  const secret = join(dir, 'db.pass');
  writeFileSync(secret, 's3cret\n', { mode: 0o600 });
  const env = { DB_USER: 'lmod', DB_NAME: 'tracking', DB_PASS_FILE: secret };
  assert.equal((resolveDbConfig({ env, warn }) as { password: string }).password, 's3cret');
  assert.deepEqual(warnings, []);
  chmodSync(secret, 0o644);
  resolveDbConfig({ env, warn });
  assert.deepEqual(warnings, [`${secret} holds a password and is readable by group or others (mode 0644): chmod 600 ${secret}`]);
  assert.throws(() => resolveDbConfig({ env: { ...env, DB_PASS: 'x' } }), { message: 'DB_PASS and DB_PASS_FILE are both set: keep one' });
  assert.throws(() => resolveDbConfig({ env: { ...env, DB_PASS_FILE: join(dir, 'none') } }), {
    message: `DB_PASS_FILE ${join(dir, 'none')}: No such file or directory`,
  });
  warnings.length = 0;
  const envFile = join(dir, 'lmod.env');
  writeFileSync(envFile, 'DB_USER=lmod\nDB_NAME=t\nDB_PASS=s3cret\n', { mode: 0o640 });
  resolveDbConfig({ envFile, env: {}, warn });
  assert.deepEqual(warnings, [`${envFile} holds a password and is readable by group or others (mode 0640): chmod 600 ${envFile}`]);
  warnings.length = 0;
  resolveDbConfig({ db: 'mysql://lmod:s3cret@db1/lmod', env: {}, warn });
  resolveDbConfig({ db: 'mysql://lmod@db1/lmod', env: {}, warn });
  assert.deepEqual(warnings, ['a password in --db shows in the process list: set DB_PASS or DB_PASS_FILE, or put it in .env (mode 0600)']);
});
