import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { chmodSync, chownSync, closeSync, existsSync, mkdirSync, mkdtempSync, openSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { createConnection } from 'mysql2/promise';
import { findProgram, freePorts, missing } from './contrib';
import { SERVER_URL } from './mysql';

/**
 * A real single-node Slurm for the tests (Debian 12's slurm-wlm 22.05, installed by .ci/setup.d/slurm.sh):
 * slurmdbd on MariaDB, slurmctld and slurmd, all private to one startSlurm() (own directory, own ports, own
 * accounting database), so that test files running in parallel never meet each other nor a system Slurm.
 * No systemd and no cgroups: proctrack/linuxproc, task/none, jobacct_gather/linux.
 */

const PROGRAMS = {
  slurmctld: findProgram(['/usr/sbin/slurmctld']),
  slurmd: findProgram(['/usr/sbin/slurmd']),
  slurmdbd: findProgram(['/usr/sbin/slurmdbd']),
  munged: findProgram(['/usr/sbin/munged']),
  munge: findProgram(['/usr/bin/munge']),
  sbatch: findProgram(['/usr/bin/sbatch']),
  sacct: findProgram(['/usr/bin/sacct']),
  sacctmgr: findProgram(['/usr/bin/sacctmgr']),
  scontrol: findProgram(['/usr/bin/scontrol']),
  squeue: findProgram(['/usr/bin/squeue']),
  scancel: findProgram(['/usr/bin/scancel']),
  runuser: findProgram(['/usr/sbin/runuser', '/sbin/runuser']),
};

/** Why the Slurm tests cannot run here ('not installed: slurmctld, sacct'), or null. */
export const SLURM_MISSING: string | null = missing(PROGRAMS);

/** Job states after which sacct's line no longer changes. */
const FINAL_STATES = new Set(['COMPLETED', 'FAILED', 'CANCELLED', 'TIMEOUT', 'NODE_FAIL', 'PREEMPTED', 'OUT_OF_MEMORY', 'BOOT_FAIL', 'DEADLINE']);

/** Devices gres.conf names as GPUs: jobs that get them see CUDA_VISIBLE_DEVICES=0 or 1, as with real ones. */
const FAKE_GPU_DEVICES = ['/dev/null', '/dev/zero'];

/** Debian's munged listens here when it runs as a service. */
const SYSTEM_MUNGE_SOCKET = '/run/munge/munge.socket.2';

export interface SlurmOptions {
  /** ClusterName; Slurm lowercases it, so Slurm.cluster is the lowercased name. */
  cluster: string;
  /** The account every user in `users` gets as its default account. */
  account: string;
  /** Unix user names added with defaultaccount=account. A user without one is charged to account `root`. */
  users: string[];
  /** The one partition, holding the one node. Default 'debug'. */
  partition?: string;
  /** Server for slurmdbd's database; default LMOD_TEST_MYSQL_URL or mysql://root@127.0.0.1:3306. */
  mysqlUrl?: string;
}

export interface Slurm {
  /** process.env without inherited SLURM_*, SACCT_* (...) variables, plus SLURM_CONF: use it for every Slurm command. */
  env: NodeJS.ProcessEnv;
  /** Private directory (mode 0755): slurm.conf, logs, state; jobs run in dir/jobs, so `slurm-<id>.out` lands there. */
  dir: string;
  cluster: string;
  account: string;
  partition: string;
  /** The node's name (the host name, from `slurmd -C`). */
  node: string;
  /** CPUs configured on the node: at least 2, so that `--cpus-per-task=2` runs. */
  cpus: number;
  /** GPUs the node claims (gres/gpu on /dev/null and /dev/zero); jobs may ask `--gres=gpu:N` up to it. */
  gpus: number;
  /** The accounting database slurmdbd writes (StorageLoc), dropped by stop(). */
  database: string;
  /**
   * Submits a batch job and returns its id (for an array, the array's id). `script` goes to sbatch's stdin
   * (a `#!/bin/sh` line is added when missing); without it, pass `--wrap`. `user` submits as that unix user.
   */
  sbatch(args: string[], options?: { script?: string; user?: string }): string;
  /**
   * Polls sacct until every job in jobIds (array ids cover all their tasks) has reached `until`:
   * 'ended' (default): every line, steps included, in a final state; 'started': no allocation line PENDING.
   */
  waitFor(jobIds: string[], options?: { until?: 'started' | 'ended'; timeoutMs?: number }): Promise<void>;
  /**
   * Runs sacct with env and returns its stdout. Without --jobs, sacct shows only jobs since midnight (pass
   * --starttime); as root it shows every user's jobs, as another user only that user's unless --allusers.
   */
  sacct(args: string[]): string;
  /** Runs any Slurm command (scontrol, squeue, scancel, sacctmgr...) with env, as `user` if given; returns stdout, throws on failure. */
  exec(program: string, args: string[], options?: { user?: string; input?: string }): string;
  /**
   * Cancels what still runs, stops the daemons it started, drops the database and removes dir. A process that
   * exits without it still kills the daemons and removes dir, but leaves the database.
   */
  stop(): Promise<void>;
}

export async function startSlurm(options: SlurmOptions): Promise<Slurm> {
  if (SLURM_MISSING !== null) throw new Error(`${SLURM_MISSING}: run .ci/setup.d/slurm.sh`);
  const slurm = new PrivateSlurm(options);
  try {
    await slurm.start(options.users);
  } catch (err) {
    await slurm.stop().catch(() => {}); // The start's error says more than a failing clean-up.
    throw err;
  }
  return slurm;
}

class PrivateSlurm implements Slurm {
  readonly dir: string;
  readonly env: NodeJS.ProcessEnv;
  readonly cluster: string;
  readonly account: string;
  readonly partition: string;
  readonly database = `slurm_test_${process.pid}_${randomBytes(3).toString('hex')}`;
  readonly gpus = FAKE_GPU_DEVICES.length;
  node = '';
  cpus = 0;
  private readonly mysqlUrl: string;
  private readonly daemons: { name: string; child: ChildProcess }[] = [];
  private databaseMade = false;
  private stopped = false;
  // A test process that dies without stop() must not leave daemons behind: 'exit' allows only synchronous work.
  private readonly onExit = () => {
    for (const { child } of this.daemons) child.kill('SIGKILL');
    rmSync(this.dir, { recursive: true, force: true });
  };

  constructor(options: SlurmOptions) {
    this.cluster = options.cluster.toLowerCase();
    this.account = options.account;
    this.partition = options.partition ?? 'debug';
    this.mysqlUrl = options.mysqlUrl ?? SERVER_URL;
    this.dir = mkdtempSync(join(tmpdir(), 'lmod-slurm-'));
    // Jobs run as the tests' unix users: they must reach the config and their working directory.
    chmodSync(this.dir, 0o755);
    const env: NodeJS.ProcessEnv = {};
    // A caller's SLURM_TIME_FORMAT, SACCT_FORMAT or SLURM_JOB_ID (tests run inside a job) would change what the commands do.
    for (const [key, value] of Object.entries(process.env)) {
      if (!/^(SLURM|SACCT|SBATCH|SALLOC|SRUN|SQUEUE|SINFO|SCONTROL)_/.test(key)) env[key] = value;
    }
    env.SLURM_CONF = join(this.dir, 'slurm.conf');
    this.env = env;
    process.on('exit', this.onExit);
  }

  async start(users: string[]): Promise<void> {
    const jobs = join(this.dir, 'jobs');
    mkdirSync(jobs);
    chmodSync(jobs, 0o1777);
    for (const sub of ['state', 'spool']) mkdirSync(join(this.dir, sub));
    const [ctldPort, slurmdPort, dbdPort] = await freePorts(3);
    const authInfo = await this.munge();
    const hardware = this.hardware();

    const server = new URL(this.mysqlUrl);
    writeFileSync(
      join(this.dir, 'slurmdbd.conf'),
      conf({
        AuthType: 'auth/munge',
        AuthInfo: authInfo,
        DbdAddr: '127.0.0.1',
        DbdHost: 'localhost',
        DbdPort: dbdPort,
        SlurmUser: 'root',
        DebugLevel: 'info',
        LogFile: join(this.dir, 'slurmdbd.log'),
        PidFile: join(this.dir, 'slurmdbd.pid'),
        StorageType: 'accounting_storage/mysql',
        StorageHost: server.hostname || '127.0.0.1',
        StoragePort: server.port || '3306',
        StorageUser: decodeURIComponent(server.username) || 'root',
        StoragePass: decodeURIComponent(server.password) || undefined,
        StorageLoc: this.database,
      }),
      { mode: 0o600 }, // slurmdbd refuses a slurmdbd.conf others can read: it holds the database password.
    );
    writeFileSync(
      this.env.SLURM_CONF!,
      conf({
        ClusterName: this.cluster,
        SlurmctldHost: `${this.node}(127.0.0.1)`,
        SlurmctldPort: ctldPort,
        SlurmdPort: slurmdPort,
        SlurmUser: 'root',
        SlurmdUser: 'root',
        AuthType: 'auth/munge',
        AuthInfo: authInfo,
        StateSaveLocation: join(this.dir, 'state'),
        SlurmdSpoolDir: join(this.dir, 'spool'),
        SlurmctldPidFile: join(this.dir, 'slurmctld.pid'),
        SlurmdPidFile: join(this.dir, 'slurmd.pid'),
        SlurmctldLogFile: join(this.dir, 'slurmctld.log'),
        SlurmdLogFile: join(this.dir, 'slurmd.log'),
        SlurmctldDebug: 'info',
        SlurmdDebug: 'info',
        // No systemd, no cgroups.
        ProctrackType: 'proctrack/linuxproc',
        TaskPlugin: 'task/none',
        JobAcctGatherType: 'jobacct_gather/linux',
        // The extern step (123.extern) that production clusters show in sacct.
        PrologFlags: 'Contain',
        MpiDefault: 'none',
        AccountingStorageType: 'accounting_storage/slurmdbd',
        AccountingStorageHost: '127.0.0.1',
        AccountingStoragePort: dbdPort,
        // Messages to slurmdbd take their munge socket from here, not from AuthInfo.
        AccountingStoragePass: authInfo,
        // AllocTRES lists gres/gpu=N only for TRES named here.
        AccountingStorageTRES: 'gres/gpu',
        JobCompType: 'jobcomp/none',
        SelectType: 'select/cons_tres',
        SelectTypeParameters: 'CR_Core',
        SchedulerType: 'sched/backfill',
        // Batch jobs start at slurmctld's next 1 s tick, not up to 3 s later (the first one after start still waits ~3 s).
        SchedulerParameters: 'batch_sched_delay=0',
        GresTypes: 'gpu',
        // The node may claim more CPUs than the machine has (see hardware()).
        SlurmdParameters: 'config_overrides',
        ReturnToService: 2,
        // stop() cancels running jobs: their steps get SIGKILL 1 s after SIGTERM instead of 30 s.
        KillWait: 1,
        InactiveLimit: 0,
      }) +
        `NodeName=${this.node} NodeAddr=127.0.0.1 ${hardware} Gres=gpu:${this.gpus} State=UNKNOWN\n` +
        `PartitionName=${this.partition} Nodes=${this.node} Default=YES MaxTime=INFINITE State=UP\n`,
    );
    // Fake GPUs: slurmd drops a gres/gpu without File= ("file-less GPU") and wants a character device for each.
    writeFileSync(join(this.dir, 'gres.conf'), FAKE_GPU_DEVICES.map((file) => `Name=gpu File=${file}\n`).join(''));

    // slurmdbd first: the cluster, account and users must exist before slurmctld registers and jobs are recorded.
    this.daemon('slurmdbd', PROGRAMS.slurmdbd!, ['-D']);
    this.databaseMade = true; // slurmdbd creates it.
    await this.until(() => canConnect(dbdPort), `slurmdbd listening on ${dbdPort}`, ['slurmdbd']);
    // One `sacctmgr load` for cluster, account and users: each sacctmgr command costs 0.5-1 s of database commits.
    const associations = join(this.dir, 'associations.cfg');
    writeFileSync(
      associations,
      [
        `Cluster - '${this.cluster}'`,
        `Parent - 'root'`,
        `Account - '${this.account}'`,
        `Parent - '${this.account}'`,
        ...users.map((user) => `User - '${user}':DefaultAccount='${this.account}'`),
      ].join('\n') + '\n',
    );
    this.exec('sacctmgr', ['-i', 'load', `file=${associations}`]);
    this.daemon('slurmctld', PROGRAMS.slurmctld!, ['-D']);
    this.daemon('slurmd', PROGRAMS.slurmd!, ['-D']);
    await this.until(
      () => {
        const node = this.tryExec('scontrol', ['show', 'node', this.node, '--oneliner']);
        // A node that registers with less than slurm.conf says (CPUs, GPUs) is drained at once: no use waiting.
        if (/\bState=\S*(DRAIN|INVAL)/.test(node)) throw new Error(`Slurm harness: node drained: ${node}\n${this.logs('slurmctld')}`);
        return /\bState=IDLE\b/.test(node);
      },
      `node ${this.node} IDLE`,
      ['slurmctld', 'slurmd'],
    );
  }

  /**
   * munge authenticates every Slurm message. A running system munged (Debian's service) is used as it is;
   * else a private munged on its own socket (AuthInfo=socket=...), stopped by stop(): starting the system
   * one would leave it to whichever test file stops last, and parallel test files cannot agree on that.
   */
  private async munge(): Promise<string | undefined> {
    if (this.mungeWorks(SYSTEM_MUNGE_SOCKET)) return undefined;
    const dir = join(this.dir, 'munge');
    const socket = join(dir, 'munge.socket');
    const [uid, gid] = ['-u', '-g'].map((flag) => Number(spawnSync('id', [flag, 'munge'], { encoding: 'utf8' }).stdout.trim() || Number.NaN));
    if (!Number.isInteger(uid) || !Number.isInteger(gid)) throw new Error('no unix user munge: run .ci/setup.d/slurm.sh');
    // munged runs as munge (it reads /etc/munge/munge.key, mode 0600 munge) and refuses directories others can write.
    mkdirSync(dir, { mode: 0o755 });
    chownSync(dir, uid, gid);
    const files = ['pid-file=munged.pid', 'seed-file=munged.seed', 'log-file=munged.log'].map((option) => `--${option.replace('=', `=${dir}/`)}`);
    this.daemon('munged', PROGRAMS.munged!, ['--foreground', `--socket=${socket}`, ...files], { uid, gid });
    await this.until(() => this.mungeWorks(socket), 'munged answering', ['munged']);
    return `socket=${socket}`;
  }

  private mungeWorks(socket: string): boolean {
    return existsSync(socket) && spawnSync(PROGRAMS.munge!, ['--no-input', `--socket=${socket}`], { stdio: 'ignore' }).status === 0;
  }

  /** `slurmd -C`'s line for this machine (CPUs=2 Boards=1 ... RealMemory=...), with at least 2 CPUs. */
  private hardware(): string {
    const found = spawnSync(PROGRAMS.slurmd!, ['-C'], { encoding: 'utf8', env: { ...this.env, SLURM_CONF: '/nonexistent' } });
    const match = /^NodeName=(\S+) (.*\bCPUs=(\d+).*)$/m.exec(found.stdout);
    if (!match) throw new Error(`slurmd -C printed no node line: ${found.stdout}${found.stderr}`);
    this.node = match[1];
    this.cpus = Number(match[3]);
    if (this.cpus >= 2) return match[2];
    // A one-CPU machine claims two (allowed by SlurmdParameters=config_overrides): tests ask --cpus-per-task=2.
    this.cpus = 2;
    return `CPUs=2 Boards=1 SocketsPerBoard=1 CoresPerSocket=2 ThreadsPerCore=1 ${/RealMemory=\d+/.exec(match[2])?.[0] ?? ''}`.trim();
  }

  private daemon(name: string, program: string, args: string[], ids: { uid?: number; gid?: number } = {}): void {
    // The daemons log to their own files; this catches what they print before (bad config, missing plugin).
    const out = openSync(join(this.dir, `${name}.out`), 'w');
    const child = spawn(program, args, { env: this.env, stdio: ['ignore', out, out], ...ids });
    closeSync(out);
    child.on('error', () => {}); // Reported by until(): the daemon is not running.
    this.daemons.push({ name, child });
  }

  private running(name: string): boolean {
    const child = this.daemons.find((d) => d.name === name)?.child;
    return child !== undefined && child.exitCode === null && child.signalCode === null;
  }

  /** Polls `ready` every 50 ms for up to 30 s; fails early, with the daemons' output, if one of them exits. */
  private async until(ready: () => boolean | Promise<boolean>, what: string, daemons: string[]): Promise<void> {
    const deadline = Date.now() + 30_000;
    while (Date.now() < deadline) {
      if (await ready()) return;
      if (!daemons.every((name) => this.running(name))) break;
      await sleep(50);
    }
    throw new Error(`Slurm harness: no ${what}; ${daemons.map((name) => this.logs(name)).join('\n')}`);
  }

  /** A daemon's state and the last lines of its output and log file, for error messages. */
  private logs(daemon: string): string {
    const child = this.daemons.find((d) => d.name === daemon)?.child;
    const state = child === undefined ? 'not started' : this.running(daemon) ? 'running' : `exited ${child.exitCode ?? child.signalCode}`;
    const files = [`${daemon}.out`, `${daemon}.log`]
      .map((file) => join(this.dir, file))
      .filter((file) => existsSync(file))
      .map((file) => `${file}:\n${readFileSync(file, 'utf8').split('\n').slice(-30).join('\n')}`);
    return [`${daemon} ${state}`, ...files].join('\n');
  }

  exec(program: string, args: string[], options: { user?: string; input?: string } = {}): string {
    const result = this.run(program, args, options);
    if (result.error) throw result.error;
    if (result.status !== 0) throw new Error(`${program} ${args.join(' ')} exited ${result.status ?? result.signal}: ${result.stderr}${result.stdout}`);
    return result.stdout;
  }

  /** exec() that returns '' instead of throwing: for polling while a daemon comes up. */
  private tryExec(program: string, args: string[]): string {
    const result = this.run(program, args, {});
    return result.status === 0 ? result.stdout : '';
  }

  private run(program: string, args: string[], { user, input }: { user?: string; input?: string }) {
    // runuser keeps the environment (SLURM_CONF), unlike `su -`.
    const [command, argv] = user === undefined ? [program, args] : [PROGRAMS.runuser!, ['-u', user, '--', program, ...args]];
    return spawnSync(command, argv, { env: this.env, encoding: 'utf8', input, timeout: 60_000 });
  }

  sacct(args: string[]): string {
    return this.exec('sacct', args);
  }

  sbatch(args: string[], options: { script?: string; user?: string } = {}): string {
    let script = options.script;
    if (script !== undefined && !script.startsWith('#!')) script = `#!/bin/sh\n${script}`;
    // Jobs start in dir/jobs (mode 1777), where any user can write its slurm-<id>.out; a --chdir in args wins.
    const out = this.exec('sbatch', ['--parsable', `--chdir=${join(this.dir, 'jobs')}`, ...args], { user: options.user, input: script });
    const id = out.trim().split(';')[0];
    if (!/^\d+$/.test(id)) throw new Error(`sbatch printed no job id: ${out}`);
    return id;
  }

  async waitFor(jobIds: string[], { until = 'ended', timeoutMs = 60_000 }: { until?: 'started' | 'ended'; timeoutMs?: number } = {}): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    const args = ['--noheader', '--parsable2', '--allusers', `--jobs=${jobIds.join(',')}`, '--format=JobID,JobIDRaw,State'];
    // 'ended' reads the steps too: a job's extern step may reach the database after the job's own line.
    if (until === 'started') args.push('--allocations');
    const state = (row: string[]) => row[2].split(' ')[0]; // 'CANCELLED by 0'
    const reached = until === 'started' ? (row: string[]) => state(row) !== 'PENDING' : (row: string[]) => FINAL_STATES.has(state(row));
    let text = '';
    for (;;) {
      text = this.sacct(args);
      const rows = text
        .split('\n')
        .filter((line) => line !== '')
        .map((line) => line.split('|'));
      // An array's tasks show as <array id>_<task> (JobIDRaw: the task's own id), its pending rest as <array id>_[2-3].
      const seen = new Set(rows.flatMap(([jobId, raw]) => [jobId.split(/[_.]/)[0], raw.split('.')[0]]));
      if (jobIds.every((id) => seen.has(id)) && rows.every(reached)) return;
      if (Date.now() > deadline) break;
      await sleep(100);
    }
    throw new Error(
      `Slurm harness: jobs ${jobIds.join(',')} not ${until} after ${timeoutMs} ms; sacct:\n${text}\n${this.logs('slurmctld')}\n${this.logs('slurmd')}`,
    );
  }

  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    // slurmstepd outlives a stopped slurmd: cancel what still runs and wait until the node is empty.
    if (this.running('slurmctld') && this.running('slurmd')) {
      const queued = () => this.tryExec('squeue', ['--noheader', '--format=%A']).split('\n').filter(Boolean);
      const ids = queued();
      if (ids.length > 0) {
        this.tryExec('scancel', ids);
        const deadline = Date.now() + 15_000;
        while (Date.now() < deadline && queued().length > 0) await sleep(100);
      }
    }
    for (const { child } of [...this.daemons].reverse()) await terminate(child);
    if (this.databaseMade) {
      const connection = await createConnection({ uri: this.mysqlUrl });
      await connection.query(`DROP DATABASE IF EXISTS \`${this.database}\``);
      await connection.end();
    }
    process.off('exit', this.onExit);
    rmSync(this.dir, { recursive: true, force: true });
  }
}

/** slurm.conf's Key=Value lines; undefined values are left out. */
function conf(settings: Record<string, string | number | undefined>): string {
  return Object.entries(settings)
    .filter(([, value]) => value !== undefined)
    .map(([key, value]) => `${key}=${value}\n`)
    .join('');
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

/** SIGTERM, then SIGKILL after 10 s; resolves when the process has exited. */
async function terminate(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null || child.pid === undefined) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGTERM');
  const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  await exited;
  clearTimeout(timer);
}
