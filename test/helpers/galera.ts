import { type ChildProcess, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';

import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mysql2/promise';
import { findProgram, freePorts, missing } from './contrib';

/**
 * A real multi-master MariaDB Galera cluster for the tests (Debian 12's mariadbd 10.11 with galera-4 26.4, installed by
 * .ci/setup.d/galera.sh): N mariadbd on loopback, each with its own datadir, socket, pid file and ports under one private
 * temporary directory (~380 MB, ~400-500 MB RSS for three nodes), so that parallel test files, and the system server on
 * 3306, never meet it. A start takes 11-18 s on two cores (node 1, then one rsync SST per joiner), a restart() 8-13 s.
 *
 * What tests meet (measured here with mysql2):
 * - Overlapping writes on two nodes: no lock wait; the transaction certified second fails with 1213 ER_LOCK_DEADLOCK
 *   (sqlState 40001) at COMMIT, or at its current statement when a replicated write aborts it first. It is rolled back,
 *   and the connection stays usable.
 * - An autocommit statement that loses is retried once by the server (wsrep_retry_autocommit=1). For LOAD DATA LOCAL that
 *   retry breaks the protocol: mysql2 resolves with `{ infileName }` and no error, the rows are not inserted, the server
 *   thread waits 30 s (net_read_timeout) holding its locks, and the connection's next query fails with
 *   ER_NET_PACKETS_OUT_OF_ORDER. Run LOAD DATA LOCAL inside START TRANSACTION, as the MySQL store does.
 * - AUTO_INCREMENT: wsrep_auto_increment_control sets auto_increment_increment to the cluster size and the offset to the
 *   node's place (ids 4, 5, 6 from nodes 1, 2, 3): compare rows by their natural keys, never by id.
 * - DDL replicates by Total Order Isolation: it runs on every node in the same order and aborts (1213) open transactions
 *   that touched the table on any node, even one that only read it.
 * - GET_LOCK() is local to its node: sessions on two nodes both get the same lock, so it serializes nothing cluster-wide.
 *   SELECT ... FOR UPDATE is local too: the conflict shows only at COMMIT.
 * - kill9(): that node's clients get PROTOCOL_CONNECTION_LOST (fatal), new ones ECONNREFUSED; the uncommitted work is lost
 *   everywhere. The others declare the node gone after ~6 s (evs.suspect_timeout 5 s), and their writes stall until
 *   then, without error. With two of three nodes killed the survivor has no quorum: 1047 ER_UNKNOWN_COM_ERROR.
 */

const PROGRAMS = {
  mariadbd: findProgram(['/usr/sbin/mariadbd']),
  'mariadb-install-db': findProgram(['/usr/bin/mariadb-install-db', 'mariadb-install-db']),
  'galera-4 (libgalera_smm.so)': findProgram(['/usr/lib/galera/libgalera_smm.so', '/usr/lib/libgalera_smm.so']),
  rsync: findProgram(['/usr/bin/rsync', 'rsync']),
  wsrep_sst_rsync: findProgram(['/usr/bin/wsrep_sst_rsync', 'wsrep_sst_rsync']),
  'ss or lsof': findProgram(['ss', 'lsof']),
  setpriv: findProgram(['/usr/bin/setpriv', 'setpriv']),
};

/** Why the Galera tests cannot run here ('not installed: galera-4 (libgalera_smm.so), rsync'), or null. */
export const GALERA_MISSING: string | null = missing(PROGRAMS);

export interface GaleraNode {
  /** 1-based: node 1 bootstrapped the cluster. */
  readonly index: number;
  /** Its SQL port on 127.0.0.1. */
  readonly port: number;
  /** mysql://root@127.0.0.1:PORT/DATABASE: root with no password, like the system server. */
  readonly url: string;
  /** Its private directory: my.cnf, data/, error.log. */
  readonly dir: string;
  /**
   * SIGKILL, as a crash would: no shutdown, no leave message; the others declare it gone ~6 s later. running() is false at
   * once; resolves when the process is gone, so nothing sent after it can reach the node.
   */
  kill9(): Promise<void>;
  /**
   * After kill9(): `mariadbd --wsrep-recover` for its last committed position, then starts it again; it catches up by IST
   * from another node's gcache (64M of write sets), else by a whole rsync SST. Resolves once it is Synced. Needs a quorum
   * of running nodes: restart one node at a time.
   */
  restart(): Promise<void>;
  running(): boolean;
  /** The last lines of its error log, for assertion messages. */
  log(lines?: number): string;
}

export interface GaleraCluster {
  readonly nodes: GaleraNode[];
  /** Created on node 1 after the cluster formed (utf8mb4_bin, like test/helpers/mysql.ts); every node's url names it. */
  readonly database: string;
  /**
   * Resolves when every running node is Synced, in one Primary component of all running nodes, and has committed the
   * same last seqno (wsrep_last_committed): the moment to compare the nodes' contents. Rejects after timeoutMs (60 s).
   */
  waitSynced(timeoutMs?: number): Promise<void>;
  /** One statement on node `node` (1-based), in `database`, on a connection of its own: the rows (or the one result header). */
  query(node: number, sql: string): Promise<unknown[]>;
  /** Kills every node (SIGKILL: the data goes anyway) and removes the directory. */
  stop(): Promise<void>;
}

export interface GaleraOptions {
  /** Default 3: the smallest cluster that keeps its quorum when one node dies. */
  nodes?: number;
  /** Default a unique lmod_galera_<pid>_<hex>. */
  database?: string;
}

/** Nodes that get as far as Synced within this; a first start includes an rsync state transfer per joiner. */
const START_TIMEOUT_MS = 120_000;

export async function startGalera(options: GaleraOptions = {}): Promise<GaleraCluster> {
  if (GALERA_MISSING !== null) throw new Error(`${GALERA_MISSING}: run .ci/setup.d/galera.sh`);
  sweepAbandoned();
  const cluster = new PrivateCluster(options.nodes ?? 3, options.database ?? `lmod_galera_${process.pid}_${randomBytes(3).toString('hex')}`);
  try {
    await cluster.start();
  } catch (err) {
    await cluster.stop().catch(() => {}); // The start's error says more than a failing clean-up.
    throw err;
  }
  return cluster;
}

/** Clusters not yet stopped: the process's exit and fatal signals kill them (see hookExit). */
const live = new Set<PrivateCluster>();

class PrivateCluster implements GaleraCluster {
  readonly dir: string;
  readonly nodes: PrivateNode[] = [];
  private stopped = false;

  constructor(
    count: number,
    readonly database: string,
  ) {
    if (!Number.isInteger(count) || count < 1) throw new Error(`Galera harness: nodes must be a positive integer, not ${count}`);
    this.dir = mkdtempSync(join(tmpdir(), 'lmod-galera-'));
    chmodSync(this.dir, 0o755); // mysql must reach its node's folder.
    writeFileSync(join(this.dir, 'owner'), `${process.pid}\n`); // See sweepAbandoned().
    hookExit(this);
    for (let index = 1; index <= count; index++) this.nodes.push(new PrivateNode(this, index));
  }

  async start(): Promise<void> {
    // SQL, group communication (gcomm), incremental (IST) and full (SST) state transfer: four ports a node.
    const ports = await freePorts(4 * this.nodes.length);
    const name = `lmod-test-${randomBytes(4).toString('hex')}`; // Nodes of another test's cluster that guess a port are refused.
    for (const node of this.nodes) node.configure(ports.splice(0, 4), name);
    const gcomm = `gcomm://${this.nodes.map((node) => `127.0.0.1:${node.gcommPort}`).join(',')}`;
    for (const node of this.nodes) node.writeConfig(gcomm);

    // Only node 1 gets system tables (passwordless root users included): the joiners start on an empty datadir and get
    // node 1's by rsync SST (5 s each, one at a time). Copying node 1's datadir beforehand saves nothing: a joiner then
    // still runs the rsync script for its IST, and one donor serves one joiner at a time either way.
    const [first, ...joiners] = this.nodes;
    await first.installDb();
    first.spawn(['--wsrep-new-cluster']);
    await first.waitReady(START_TIMEOUT_MS);
    // One joiner at a time into the group (two that connect at once may each form a view of their own first and take 5 s
    // to merge), but without waiting for its state transfer: the next joiner's request then queues at the donor.
    const ready: Promise<void>[] = [];
    for (const node of joiners) {
      node.spawn([]);
      ready.push(node.waitReady(START_TIMEOUT_MS));
      ready.at(-1)!.catch(() => {}); // Awaited below; an early failure must not go unhandled meanwhile.
      await first.waitMembers(node.index, START_TIMEOUT_MS, node);
    }
    await Promise.all(ready);
    await this.query(1, `CREATE DATABASE \`${this.database}\` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin`, false);
    await this.waitSynced(START_TIMEOUT_MS);
  }

  async waitSynced(timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const running = this.nodes.filter((node) => node.running());
      try {
        const states = await Promise.all(running.map((node) => node.status()));
        last = states.map((s, i) => `node ${running[i].index}: ${JSON.stringify(s)}`).join('\n');
        const synced = states.every(
          (s) =>
            s.wsrep_local_state_comment === 'Synced' &&
            s.wsrep_ready === 'ON' &&
            s.wsrep_cluster_status === 'Primary' &&
            Number(s.wsrep_cluster_size) === running.length &&
            s.wsrep_last_committed === states[0].wsrep_last_committed,
        );
        if (synced) return;
      } catch (err) {
        last = String(err);
      }
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    throw new Error(`Galera harness: nodes not synced after ${timeoutMs} ms:\n${last}`);
  }

  async query(node: number, sql: string, inDatabase = true): Promise<unknown[]> {
    const target = this.nodes[node - 1];
    if (target === undefined) throw new Error(`Galera harness: no node ${node} (1..${this.nodes.length})`);
    const connection = await createConnection({ uri: inDatabase ? target.url : target.serverUrl, connectTimeout: 5000 });
    try {
      const [rows] = await connection.query(sql);
      return Array.isArray(rows) ? rows : [rows];
    } finally {
      await connection.end().catch(() => connection.destroy());
    }
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    await Promise.all(this.nodes.map((node) => node.kill9()));
    this.killNow();
  }

  /** Synchronous, for the exit hook too: SIGKILL to all nodes and to what they left (SST scripts, rsync daemons), then rm -r. */
  killNow(): void {
    live.delete(this);
    for (const node of this.nodes) node.child?.kill('SIGKILL');
    for (const pid of processesUsing(this.dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {} // Gone already.
    }
    rmSync(this.dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

class PrivateNode implements GaleraNode {
  readonly dir: string;
  port = 0;
  gcommPort = 0;
  child: ChildProcess | undefined;
  private ports: number[] = [];
  private clusterName = '';
  private exited: Promise<void> = Promise.resolve();
  private killed = false;

  constructor(
    private readonly cluster: PrivateCluster,
    readonly index: number,
  ) {
    this.dir = join(cluster.dir, `node${index}`);
    mkdirSync(join(this.dir, 'data'), { recursive: true });
    mkdirSync(join(this.dir, 'tmp'));
    for (const sub of ['', 'data', 'tmp']) chownSync(join(this.dir, sub), MYSQL_IDS.uid, MYSQL_IDS.gid);
  }

  get url(): string {
    return `${this.serverUrl}/${this.cluster.database}`;
  }

  get serverUrl(): string {
    return `mysql://root@127.0.0.1:${this.port}`;
  }

  configure(ports: number[], clusterName: string): void {
    this.ports = ports;
    [this.port, this.gcommPort] = ports;
    this.clusterName = clusterName;
  }

  writeConfig(gcomm: string): void {
    const [port, gcommPort, istPort, sstPort] = this.ports;
    const provider = [
      `gmcast.listen_addr=tcp://127.0.0.1:${gcommPort}`,
      `ist.recv_addr=127.0.0.1:${istPort}`,
      // The ring buffer a restarted node catches up from by IST (else a full SST): preallocated on disk, 128M by default.
      'gcache.size=64M',
    ].join(';');
    const settings: Record<string, string | number | null> = {
      datadir: join(this.dir, 'data'),
      socket: join(this.dir, 'mysqld.sock'),
      'pid-file': join(this.dir, 'mysqld.pid'),
      'log-error': join(this.dir, 'error.log'),
      tmpdir: join(this.dir, 'tmp'),
      port,
      'bind-address': '127.0.0.1',
      // As the system server: root@127.0.0.1 matches TCP clients, and hosts are never looked up.
      'skip-name-resolve': null,
      'character-set-server': 'utf8mb4',
      'collation-server': 'utf8mb4_general_ci',
      // The loader's batches go in with LOAD DATA LOCAL.
      local_infile: 1,
      // Three servers on a test machine: small caches, no performance schema.
      innodb_buffer_pool_size: '64M',
      innodb_log_file_size: '32M',
      performance_schema: 'OFF',
      // A kill -9 of mariadbd loses nothing at 2 (the OS has the log); Galera's copies make each node's fsync moot anyway.
      innodb_flush_log_at_trx_commit: 2,
      // Galera replicates rows, and its parallel appliers need interleaved AUTO_INCREMENT locks.
      binlog_format: 'ROW',
      default_storage_engine: 'InnoDB',
      innodb_autoinc_lock_mode: 2,
      wsrep_on: 'ON',
      wsrep_provider: PROGRAMS['galera-4 (libgalera_smm.so)']!,
      wsrep_provider_options: `"${provider}"`,
      wsrep_cluster_name: this.clusterName,
      wsrep_cluster_address: gcomm,
      wsrep_node_name: `node${this.index}`,
      wsrep_node_address: `127.0.0.1:${gcommPort}`,
      wsrep_node_incoming_address: `127.0.0.1:${port}`,
      wsrep_sst_method: 'rsync',
      wsrep_sst_receive_address: `127.0.0.1:${sstPort}`,
    };
    const lines = Object.entries(settings).map(([key, value]) => (value === null ? key : `${key}=${value}`));
    // mariadbd ignores a world-writable option file; it reads this one only (--defaults-file), never /etc/mysql.
    writeFileSync(join(this.dir, 'my.cnf'), `[mysqld]\n${lines.join('\n')}\n`, { mode: 0o644 });
  }

  /** System tables with passwordless root@localhost, @127.0.0.1 and @::1 (`normal`: no unix_socket user to be). */
  async installDb(): Promise<void> {
    const args = ['--no-defaults', `--datadir=${join(this.dir, 'data')}`, '--auth-root-authentication-method=normal', '--skip-test-db'];
    const out = join(this.dir, 'install-db.out');
    const code = await runToEnd(PROGRAMS['mariadb-install-db']!, [...args, '--innodb-log-file-size=32M'], out);
    if (code !== 0) throw new Error(`Galera harness: mariadb-install-db exited ${code}: ${tail(out, 30)}`);
  }

  spawn(extra: string[]): void {
    const out = openSync(join(this.dir, 'mariadbd.out'), 'a');
    const [command, args] = asMysql(PROGRAMS.mariadbd!, [`--defaults-file=${join(this.dir, 'my.cnf')}`, ...extra]);
    const child = spawn(command, args, { stdio: ['ignore', out, out] });
    closeSync(out);
    child.on('error', () => {}); // Seen by waitReady(): the node is not running.
    this.exited = new Promise((done) => child.once('exit', () => done()));
    this.child = child;
    this.killed = false;
  }

  running(): boolean {
    return this.child !== undefined && !this.killed && this.child.exitCode === null && this.child.signalCode === null;
  }

  async kill9(): Promise<void> {
    if (this.running()) {
      this.killed = true;
      this.child!.kill('SIGKILL');
    }
    await this.exited;
  }

  async restart(): Promise<void> {
    if (this.running()) throw new Error(`Galera harness: node ${this.index} is running; kill9() it first`);
    await this.exited;
    // After a crash grastate.dat says seqno -1: InnoDB knows the last committed seqno, and --wsrep-recover prints it, so the
    // node asks the others for just the missing write sets (IST) instead of a whole copy (SST).
    const recoverLog = join(this.dir, 'recover.log');
    rmSync(recoverLog, { force: true });
    const args = [`--defaults-file=${join(this.dir, 'my.cnf')}`, '--wsrep-recover', `--log-error=${recoverLog}`];
    const code = await runToEnd(PROGRAMS.mariadbd!, args, join(this.dir, 'recover.out'));
    const position = /WSREP: Recovered position: (\S+:-?\d+)/.exec(existsSync(recoverLog) ? readFileSync(recoverLog, 'utf8') : '')?.[1];
    if (code !== 0 || position === undefined) throw new Error(`Galera harness: node ${this.index}: --wsrep-recover exited ${code}: ${tail(recoverLog, 30)}`);
    this.spawn([`--wsrep-start-position=${position}`]);
    await this.waitReady(START_TIMEOUT_MS);
  }

  /** Polls until the node answers SQL as Synced (after its state transfer); fails at once, with its log, if it exits. */
  async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = 'no answer';
    while (Date.now() < deadline) {
      if (!this.running()) throw new Error(`Galera harness: node ${this.index} exited (${this.child?.exitCode ?? this.child?.signalCode}):\n${this.log()}`);
      try {
        const s = await this.status();
        last = JSON.stringify(s);
        if (s.wsrep_local_state_comment === 'Synced' && s.wsrep_ready === 'ON' && s.wsrep_cluster_status === 'Primary') return;
      } catch (err) {
        last = String(err); // Not listening yet: the port opens after the state transfer.
      }
      await sleep(100);
    }
    throw new Error(`Galera harness: node ${this.index} not Synced after ${timeoutMs} ms (${last}):\n${this.log()}`);
  }

  /** Polls until this node sees `count` members (wsrep_cluster_size), failing early if `joiner` exits. */
  async waitMembers(count: number, timeoutMs: number, joiner: PrivateNode): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!joiner.running())
        throw new Error(`Galera harness: node ${joiner.index} exited (${joiner.child?.exitCode ?? joiner.child?.signalCode}):\n${joiner.log()}`);
      if (Number((await this.status().catch(() => undefined))?.wsrep_cluster_size) >= count) return;
      await sleep(50);
    }
    throw new Error(`Galera harness: node ${joiner.index} did not join node ${this.index}'s group in ${timeoutMs} ms:\n${joiner.log()}`);
  }

  async status(): Promise<Record<string, string>> {
    const connection = await createConnection({ uri: this.serverUrl, connectTimeout: 2000 });
    try {
      const [rows] = await connection.query<import('mysql2').RowDataPacket[]>(
        "SHOW GLOBAL STATUS WHERE Variable_name IN ('wsrep_local_state_comment', 'wsrep_ready', 'wsrep_cluster_status', 'wsrep_cluster_size', 'wsrep_last_committed')",
      );
      return Object.fromEntries(rows.map((row) => [String(row.Variable_name), String(row.Value)]));
    } finally {
      connection.destroy();
    }
  }

  log(lines = 40): string {
    return [join(this.dir, 'mariadbd.out'), join(this.dir, 'error.log')].map((file) => `${file}:\n${tail(file, lines)}`).join('\n');
  }
}

/** The unix user mariadbd runs as: Debian's packaged binary refuses root, and the datadir must be its own. */
const MYSQL_IDS = mysqlIds();

function mysqlIds(): { uid: number; gid: number } {
  const self = { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };
  if (self.uid !== 0) return self; // Not root: the nodes run as the caller, in its own folders.
  const entry = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .map((line) => line.split(':'))
    .find((fields) => fields[0] === 'mysql');
  if (entry === undefined) return self;
  return { uid: Number(entry[2]), gid: Number(entry[3]) };
}

/**
 * The command line that runs `program` as MYSQL_IDS with a parent-death signal: setpriv execs it, so the pid is the
 * program's, and a test process that dies in any way (even SIGKILL, when no exit hook runs) takes its nodes with it.
 */
function asMysql(program: string, args: string[]): [string, string[]] {
  const ids = MYSQL_IDS.uid === (process.getuid?.() ?? 0) ? [] : [`--reuid=${MYSQL_IDS.uid}`, `--regid=${MYSQL_IDS.gid}`, '--clear-groups'];
  return [PROGRAMS.setpriv!, [...ids, '--pdeathsig=KILL', '--', program, ...args]];
}

/** Runs a short program as MYSQL_IDS, its output to `outFile`; resolves with its exit code. */
function runToEnd(program: string, args: string[], outFile: string): Promise<number> {
  const [command, argv] = asMysql(program, args);
  const out = openSync(outFile, 'a');
  const child = spawn(command, argv, { stdio: ['ignore', out, out] });
  closeSync(out);
  return new Promise((resolve) => {
    child.once('error', () => resolve(-1));
    child.once('exit', (code, signal) => resolve(code ?? (signal === null ? -1 : 128)));
  });
}

function tail(file: string, lines: number): string {
  return existsSync(file) ? readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n') : '(none)';
}

/** Pids whose command line names `dir`: the nodes and what they started (wsrep_sst_rsync, its rsync daemon). */
function processesUsing(dir: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(dir)) pids.push(Number(entry));
    } catch {} // Gone meanwhile.
  }
  return pids;
}

/**
 * Removes the folders of clusters whose test process died by SIGKILL: no hook ran, and the parent-death signal killed only
 * the nodes. A folder whose owner still runs (another test file's cluster) is left alone.
 */
function sweepAbandoned(): void {
  for (const entry of readdirSync(tmpdir())) {
    if (!entry.startsWith('lmod-galera-')) continue;
    const dir = join(tmpdir(), entry);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, 'owner'), 'utf8'));
    } catch {
      continue; // Being created, or not ours.
    }
    if (!Number.isInteger(owner) || owner === process.pid || alive(owner)) continue;
    for (const pid of processesUsing(dir)) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {} // Gone already.
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

let hooked = false;

/**
 * A test process that ends without stop(): 'exit' allows only synchronous work, and a fatal signal skips 'exit', so both
 * kill the nodes and remove the folders (the parent-death signal alone would kill the nodes but leave ~380 MB in /tmp).
 */
function hookExit(cluster: PrivateCluster): void {
  live.add(cluster);
  if (hooked) return;
  hooked = true;
  const killAll = () => {
    for (const c of [...live]) c.killNow();
  };
  process.on('exit', killAll);
  for (const signal of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
    process.once(signal, () => {
      killAll();
      // Die of the signal as without this handler, unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    });
  }
}
