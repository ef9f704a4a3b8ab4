import { randomBytes } from 'node:crypto';
import { type Connection, createConnection } from 'mysql2/promise';

/**
 * MySQL for the tests: LMOD_TEST_MYSQL_URL (default mysql://root@127.0.0.1:3306) names a
 * server; each test file gets its own uniquely named database and drops it afterwards.
 * Without a server the MySQL tests skip with SKIP_NOTICE, unless LMOD_TEST_REQUIRE_MYSQL=1
 * (as .ci/run sets it), where they fail.
 */
export const SERVER_URL = process.env.LMOD_TEST_MYSQL_URL ?? 'mysql://root@127.0.0.1:3306';

export const SKIP_NOTICE =
  `no MySQL server at ${SERVER_URL.replace(/:[^:@/]*@/, ':***@')}: MySQL tests skipped. ` +
  'Point LMOD_TEST_MYSQL_URL=mysql://user:pass@host:port at a server to run them.';

export interface TestDatabase {
  /** mysql://.../<database> for the code under test. */
  url: string;
  name: string;
  drop(): Promise<void>;
}

export async function createTestDatabase(label: string): Promise<TestDatabase | null> {
  const name = `lmod_test_${label}_${process.pid}_${randomBytes(3).toString('hex')}`;
  let connection: Connection;
  try {
    connection = await createConnection({ uri: SERVER_URL, connectTimeout: 3000 });
  } catch (err) {
    if (process.env.LMOD_TEST_REQUIRE_MYSQL === '1') {
      throw new Error(`LMOD_TEST_REQUIRE_MYSQL=1 but ${SERVER_URL} is unreachable: ${(err as Error).message}`);
    }
    process.stderr.write(`# NOTICE: ${SKIP_NOTICE}\n`);
    return null;
  }
  await connection.query(`CREATE DATABASE \`${name}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`);
  await connection.end();
  const base = SERVER_URL.replace(/\/+$/, '');
  return {
    url: `${base}/${name}`,
    name,
    async drop() {
      const c = await createConnection({ uri: SERVER_URL });
      await c.query(`DROP DATABASE IF EXISTS \`${name}\``);
      await c.end();
    },
  };
}
