import assert from 'node:assert/strict';
import { test } from 'node:test';
import { setTimeout as sleep } from 'node:timers/promises';
import { MysqlClient, openClient } from '../src/db/client';
import { parseDbUrl } from '../src/db/config';
import { LATEST_VERSION } from '../src/db/migrate';
import { CLAIM_TABLE, ClaimLostError, MigrateClaim, STALE_AFTER_SECONDS } from '../src/db/migrate-claim';
import { runLoad, saidLines, withMysql } from './helpers/load';

/**
 * The row `lmod-load migrate` claims on MySQL so that migrates take turns, on one server here (the Galera tests run
 * migrates at once on three nodes): a stale claim is taken over, a fresh one is waited for, and a failing migrate
 * releases its own.
 */

/** Runs `body` with a connection to the test database, holding the claim table that a migrate would create. */
async function withClaimTable(url: string, body: (sql: (statement: string) => Promise<unknown[]>) => Promise<void>): Promise<void> {
  const client = await openClient(parseDbUrl(url));
  try {
    await client.query(CLAIM_TABLE);
    await body((statement) => client.query(statement));
  } finally {
    await client.close();
  }
}

const claims = async (sql: (statement: string) => Promise<unknown[]>): Promise<unknown[]> => sql('SELECT owner FROM lmod_migrate_lock');

test('a claim not renewed for longer than the stale time is taken over, and released at the end (MySQL)', (t) =>
  withMysql(t, 'claimstale', false, (db) =>
    withClaimTable(db.url, async (sql) => {
      const age = STALE_AFTER_SECONDS + 60;
      await sql(`INSERT INTO lmod_migrate_lock VALUES (1, 'gone pid 1 #dead00', UTC_TIMESTAMP(6) - INTERVAL ${age} SECOND)`);
      const run = await runLoad(['migrate', '--db', db.url], { timeoutMs: 60_000 });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(saidLines(run), [
        `took over the migration claim of gone pid 1 #dead00, not renewed for ${age} s`,
        `schema migrated from v0 to v${LATEST_VERSION}`,
      ]);
      assert.deepEqual(await claims(sql), []);
    }),
  ));

test('a fresh claim, renewed by its holder, makes migrate wait until it is released (MySQL)', (t) =>
  withMysql(t, 'claimwait', false, (db) =>
    withClaimTable(db.url, async (sql) => {
      await sql("INSERT INTO lmod_migrate_lock VALUES (1, 'elsewhere pid 2 #11ve00', UTC_TIMESTAMP(6))");
      let ended = false;
      const running = runLoad(['migrate', '--db', db.url], { timeoutMs: 60_000 }).finally(() => (ended = true));
      // The holder renews its claim for 3 s; meanwhile the waiting migrate changes nothing.
      for (let i = 0; i < 6; i++) {
        await sleep(500);
        await sql("UPDATE lmod_migrate_lock SET claimed_at = UTC_TIMESTAMP(6) WHERE owner = 'elsewhere pid 2 #11ve00'");
      }
      assert.equal(ended, false, 'migrate did not wait');
      assert.deepEqual(await sql("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'lmod_schema'"), []);
      await sql('DELETE FROM lmod_migrate_lock');
      const run = await running;
      assert.equal(run.code, 0, run.stderr);
      const [waited, migrated, ...more] = saidLines(run);
      assert.match(
        waited,
        new RegExp(`^waiting for the migrate of elsewhere pid 2 #11ve00 \\(renewed \\d+ s ago; taken over if not renewed for ${STALE_AFTER_SECONDS} s\\)$`),
      );
      assert.deepEqual([migrated, ...more], [`schema migrated from v0 to v${LATEST_VERSION}`]);
      assert.deepEqual(await claims(sql), []);
    }),
  ));

test('a migrate that fails releases its claim: the next one does not wait for it (MySQL)', (t) =>
  withMysql(t, 'claimfail', false, (db) =>
    withClaimTable(db.url, async (sql) => {
      // A users table without its name column: the first view the migration makes refers to users.name, and fails.
      await sql('CREATE TABLE users (id INT UNSIGNED NOT NULL PRIMARY KEY) ENGINE=InnoDB');
      const failed = await runLoad(['migrate', '--db', db.url], { timeoutMs: 60_000 });
      assert.equal(failed.code, 2, failed.stderr);
      assert.match(failed.stderr, /^lmod-load: Unknown column 'u\.name' in /);
      assert.deepEqual(await claims(sql), []);
      await sql('DROP TABLE users');
      const started = Date.now();
      const run = await runLoad(['migrate', '--db', db.url], { timeoutMs: 60_000 });
      assert.equal(run.code, 0, run.stderr);
      assert.deepEqual(saidLines(run), [`schema migrated from v0 to v${LATEST_VERSION}`]);
      assert.ok(Date.now() - started < 30_000, `${Date.now() - started} ms`);
    }),
  ));

test('a holder whose claim was taken over learns it at its next renewal (MySQL)', (t) =>
  withMysql(t, 'claimlost', false, async (db) => {
    const client = await openClient(parseDbUrl(db.url));
    try {
      assert.ok(client instanceof MysqlClient);
      const claim = new MigrateClaim(() => assert.fail('nothing to tell'));
      await client.withSession(async (session) => {
        await claim.take(session);
        await claim.renew(session);
        // What a takeover does when the holder's statement outlived the stale time.
        await session.query("UPDATE lmod_migrate_lock SET owner = 'other pid 3 #0ver00'");
        await assert.rejects(claim.renew(session), ClaimLostError);
      });
      // Its release leaves the new holder's claim alone.
      await claim.release(client);
      assert.deepEqual(await client.query('SELECT owner FROM lmod_migrate_lock'), [{ owner: 'other pid 3 #0ver00' }]);
    } finally {
      await client.close();
    }
  }));
