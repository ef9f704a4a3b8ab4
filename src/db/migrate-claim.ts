import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';
import type { MysqlClient } from './client';

/**
 * The one row a MySQL migrate claims before it changes the schema, so that migrates take turns. A lock (GET_LOCK, SELECT
 * ... FOR UPDATE) would hold on one Galera node only; a committed row is certified and replicated like any other, so of
 * two claims made at once on two nodes one fails (1213, or finds the row there) and waits.
 */
export const CLAIM_TABLE =
  'CREATE TABLE IF NOT EXISTS lmod_migrate_lock (id TINYINT UNSIGNED NOT NULL PRIMARY KEY, owner VARCHAR(255) NOT NULL, ' +
  'claimed_at DATETIME(6) NOT NULL) ENGINE=InnoDB DEFAULT CHARSET=utf8mb4 COLLATE=utf8mb4_bin';

/**
 * A claim not renewed for this long was left by a migrate that died (killed, or its node lost) and is taken over. The
 * holder renews it before each statement, so this bounds one statement, not the migration.
 */
export const STALE_AFTER_SECONDS = 300;

const POLL_MS = 250;

/** What a claim meets when another migrate claimed first: the row there, or a lost certification. */
const CLAIMED_MEANWHILE = new Set(['ER_DUP_ENTRY', 'ER_LOCK_DEADLOCK', 'ER_LOCK_WAIT_TIMEOUT']);

/** The holder's claim went to another migrate (it was not renewed in time): it waits again instead of going on. */
export class ClaimLostError extends Error {
  readonly code = 'LMOD_MIGRATE_CLAIM_LOST';
}

export class MigrateClaim {
  /** Who holds it, for the notices of those who wait: this host and process. Kept over retries, so a retry takes it back at once. */
  readonly owner = `${hostname()} pid ${process.pid} #${randomBytes(3).toString('hex')}`;

  private holding = false;

  constructor(private readonly notify: (message: string) => void) {}

  /** Waits until this migrate holds the claim. */
  async take(session: MysqlClient): Promise<void> {
    // CREATE TABLE replicates as DDL even when the table is there: only a fresh database runs it.
    const [table] = await session.query("SELECT 1 FROM information_schema.tables WHERE table_schema = DATABASE() AND table_name = 'lmod_migrate_lock'");
    if (table === undefined) await session.query(CLAIM_TABLE);
    let told = '';
    for (;;) {
      const [held] = await session.query<{ owner: string; age: unknown }>(
        'SELECT owner, TIMESTAMPDIFF(SECOND, claimed_at, UTC_TIMESTAMP(6)) AS age FROM lmod_migrate_lock WHERE id = 1',
      );
      const age = Number(held?.age);
      try {
        if (held === undefined) {
          await session.run('INSERT INTO lmod_migrate_lock (id, owner, claimed_at) VALUES (1, ?, UTC_TIMESTAMP(6))', [this.owner]);
          this.holding = true;
          return;
        }
        // Its own claim (a retry), or a stale one; the condition is checked again as the row is changed.
        if (held.owner === this.owner || age >= STALE_AFTER_SECONDS) {
          const taken = await session.run(
            'UPDATE lmod_migrate_lock SET owner = ?, claimed_at = UTC_TIMESTAMP(6) WHERE id = 1 AND (owner = ? OR claimed_at < UTC_TIMESTAMP(6) - INTERVAL ? SECOND)',
            [this.owner, this.owner, STALE_AFTER_SECONDS],
          );
          if (taken === 1) {
            this.holding = true;
            if (held.owner !== this.owner) this.notify(`took over the migration claim of ${held.owner}, not renewed for ${age} s`);
            return;
          }
        }
      } catch (err) {
        if (!CLAIMED_MEANWHILE.has((err as NodeJS.ErrnoException).code ?? '')) throw err;
      }
      if (held !== undefined && held.owner !== told && held.owner !== this.owner) {
        told = held.owner;
        this.notify(`waiting for the migrate of ${held.owner} (renewed ${age} s ago; taken over if not renewed for ${STALE_AFTER_SECONDS} s)`);
      }
      await sleep(POLL_MS);
    }
  }

  /** Before each statement: the claim is still this migrate's, and fresh. Never moves back, whatever the nodes' clocks. */
  async renew(session: MysqlClient): Promise<void> {
    const renewed = await session.run(
      'UPDATE lmod_migrate_lock SET claimed_at = GREATEST(UTC_TIMESTAMP(6), claimed_at + INTERVAL 1 MICROSECOND) WHERE id = 1 AND owner = ?',
      [this.owner],
    );
    if (renewed !== 1) throw new ClaimLostError(`the migration claim of ${this.owner} was taken over`);
  }

  /** On any connection: the session's may be the one that broke. A claim that cannot be removed goes stale. */
  async release(client: MysqlClient): Promise<void> {
    if (!this.holding) return;
    try {
      await client.run('DELETE FROM lmod_migrate_lock WHERE id = 1 AND owner = ?', [this.owner]);
    } catch (err) {
      this.notify(`could not release the migration claim (${(err as Error).message}): the next migrate takes it over after ${STALE_AFTER_SECONDS} s`);
    }
  }
}
