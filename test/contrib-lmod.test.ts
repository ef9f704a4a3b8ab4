import { test } from 'node:test';
import assert from 'node:assert/strict';
import { copyFileSync, cpSync, mkdirSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { join } from 'node:path';
import {
  CONTRIB,
  FIXTURES,
  LMOD_INIT,
  LOGGER,
  RSYSLOGD,
  PrivateRsyslog,
  REQUIRED,
  centralRule,
  cli,
  escapeRegExp,
  findProgram,
  isoFromEpochText,
  lines,
  missing,
  requirePrograms,
  run,
  tempDir,
} from './helpers/contrib';

/**
 * contrib/lmod/SitePackage.lua under Debian's Lmod: real `module load`s go through a private
 * rsyslogd running the shipped central rule into a file, and lmod-parse turns that file into
 * the exact records.
 */

const HOST = hostname();
// rsyslog's RSYSLOG_FileFormat header (RFC 3339, microseconds) and the hook's tag.
const HEADER = /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}[+-]\d\d:\d\d \S+ ModuleUsageTracking: (.*)$/;

const IS_ROOT = process.getuid?.() === 0;
const ME = run('id', ['-un']).stdout.trim();
const USERADD = findProgram(['/usr/sbin/useradd', 'useradd']);
const RUNUSER = findProgram(['/usr/sbin/runuser', '/sbin/runuser', 'runuser']);
const SETPRIV = findProgram(['/usr/bin/setpriv', 'setpriv']);
const UNSHARE = findProgram(['/usr/bin/unshare', 'unshare']);

const MODULE_SCRIPT = `
source "$LMOD_TEST_INIT" >/dev/null 2>&1 || { echo "cannot source $LMOD_TEST_INIT" >&2; exit 99; }
export MODULEPATH="$LMOD_TEST_MODULEPATH"
module "$@"
rc=$?
printf 'rc=%s\\nloaded=%s\\n' "$rc" "\${LOADEDMODULES-}"
exit $rc
`;

interface Setup {
  dir: string;
  modulepath: string;
  spaced: string;
  hookDir: string;
  logFile: string;
  rsyslog: PrivateRsyslog;
}

interface ModuleRun {
  status: number | null;
  loaded: string;
  stdout: string;
  stderr: string;
}

/** Environment of a clean non-login shell that sends to the private rsyslogd. */
function moduleEnv(s: Setup, extra: Record<string, string> = {}): Record<string, string> {
  return {
    PATH: '/usr/local/bin:/usr/bin:/bin',
    HOME: s.dir,
    LMOD_TEST_INIT: LMOD_INIT!,
    LMOD_TEST_MODULEPATH: `${s.modulepath}:${s.spaced}`,
    LMOD_PACKAGE_PATH: s.hookDir,
    LMOD_TRACKING_SOCKET: s.rsyslog.socket,
    ...extra,
  };
}

/** `module ARGS` in a fresh bash, optionally as another user (root only) via `prefix`. */
function moduleCommand(args: string[], env: Record<string, string>, prefix: string[] = []): ModuleRun {
  const envArgs = Object.entries(env).map(([k, v]) => `${k}=${v}`);
  const argv = [...prefix, 'env', '-i', ...envArgs, 'bash', '--noprofile', '--norc', '-c', MODULE_SCRIPT, 'bash', ...args];
  const result = run(argv[0], argv.slice(1));
  const loaded = /^loaded=(.*)$/m.exec(result.stdout)?.[1] ?? '';
  return { status: result.status, loaded, stdout: result.stdout, stderr: result.stderr };
}

function asUser(name: string): string[] {
  return [RUNUSER!, '-u', name, '--'];
}

/** The message of one raw line, checked field by field; returns its time= text. */
function checkLine(raw: string, f: { user: string; module: string; path: string; jobid: string; userload: 'yes' | 'no'; cluster?: string }): string {
  const header = HEADER.exec(raw);
  assert.ok(header, `not an RFC 3339 ModuleUsageTracking line: ${raw}`);
  const expected = new RegExp(
    '^' +
      escapeRegExp(`user=${f.user} module=${f.module} path=${f.path} host=${HOST} time=`) +
      '(\\d+\\.\\d{6})' +
      escapeRegExp(` jobid=${f.jobid} userload=${f.userload}${f.cluster === undefined ? '' : ` cluster=${f.cluster}`}`) +
      '$',
  );
  const match = expected.exec(header[1]);
  assert.ok(match, `message differs:\n  got      ${header[1]}\n  expected ${expected.source}`);
  return match[1];
}

function parseFile(file: string): unknown[] {
  const parsed = cli('parse', ['--quiet', file]);
  assert.equal(parsed.stderr, '');
  assert.equal(parsed.status, 0);
  return lines(parsed.stdout).map((line) => JSON.parse(line));
}

function record(time: string, user: string, module: string, path: string, jobid: string | null, userload: boolean, cluster: string | null = null) {
  const [name, version] = [module.slice(0, module.lastIndexOf('/')), module.slice(module.lastIndexOf('/') + 1)];
  return { time: isoFromEpochText(time), user, module, name, version, path, host: HOST, jobid, userload, cluster };
}

/** Two throwaway accounts (root only), removed afterwards. */
class ThrowawayUsers {
  readonly names: string[] = [];
  create(count: number, home: string): void {
    for (let i = 0; i < count; i++) {
      const name = `lmt${process.pid}${String.fromCharCode(97 + i)}`;
      const added = run(USERADD!, ['--no-create-home', '--home-dir', home, '--shell', '/bin/bash', '--user-group', name]);
      assert.equal(added.status, 0, added.stderr);
      this.names.push(name);
    }
  }
  remove(): void {
    for (const name of this.names) run('userdel', [name]);
  }
}

test('the Lmod hook through a private rsyslogd into lmod-parse records', async (t) => {
  if (!requirePrograms(t, missing({ 'lmod (Debian package)': LMOD_INIT, rsyslogd: RSYSLOGD, logger: LOGGER }))) return;
  const tmp = tempDir('hook');
  const modulepath = join(tmp.path, 'modulefiles');
  const spaced = join(tmp.path, 'site mods');
  const hookDir = join(tmp.path, 'lmod');
  cpSync(join(FIXTURES, 'modulefiles'), modulepath, { recursive: true });
  cpSync(join(FIXTURES, 'site mods'), spaced, { recursive: true });
  // A copy, so the throwaway users can read it wherever the checkout lives.
  mkdirSync(hookDir);
  copyFileSync(join(CONTRIB, 'lmod', 'SitePackage.lua'), join(hookDir, 'SitePackage.lua'));
  const logFile = join(tmp.path, 'out', 'lmod.log');
  const rsyslog = await PrivateRsyslog.start(tmp.path, centralRule(logFile));
  const s: Setup = { dir: tmp.path, modulepath, spaced, hookDir, logFile, rsyslog };
  const users = new ThrowawayUsers();
  let seen = 0;
  /** Waits for exactly `count` new lines (later commands' lines would come after them). */
  const nextLines = async (count: number): Promise<string[]> => {
    const all = await rsyslog.waitForLines(logFile, seen + count);
    const fresh = all.slice(seen);
    seen += count;
    return fresh;
  };
  /** A successful load of marker/1.0 must be the very next line: nothing came before it. */
  const expectNothingLogged = async (): Promise<void> => {
    const marker = moduleCommand(['load', 'marker/1.0'], moduleEnv(s));
    assert.equal(marker.status, 0, marker.stderr);
    const [line] = await nextLines(1);
    checkLine(line, { user: ME, module: 'marker/1.0', path: `${modulepath}/marker/1.0.lua`, jobid: '', userload: 'yes' });
  };

  try {
    await t.test('two users, a Slurm job and a dependency: exact lines, exact records', async (t) => {
      if (!IS_ROOT || !USERADD || !RUNUSER) {
        const reason = 'needs root with useradd and runuser to run module load as two users';
        if (REQUIRED) throw new Error(reason);
        return t.skip(reason);
      }
      users.create(2, tmp.path);
      const [alice, bob] = users.names;
      const before = Date.now() / 1000;

      const a = moduleCommand(['load', 'tool/1.0'], moduleEnv(s, { USER: alice, SLURM_JOB_ID: '4242', SLURM_CLUSTER_NAME: 'alpha' }), asUser(alice));
      assert.equal(a.status, 0, a.stderr);
      assert.equal(a.loaded, 'lib/2.0:tool/1.0');
      const b = moduleCommand(['load', 'tool/1.0'], moduleEnv(s, { USER: bob }), asUser(bob));
      assert.equal(b.status, 0, b.stderr);
      assert.equal(b.loaded, 'lib/2.0:tool/1.0');
      const after = Date.now() / 1000;

      const raw = await nextLines(4);
      const lib = `${modulepath}/lib/2.0.lua`;
      const tool = `${modulepath}/tool/1.0.lua`;
      // The dependency finishes loading (and is logged) before the module that asked for it.
      const times = [
        checkLine(raw[0], { user: alice, module: 'lib/2.0', path: lib, jobid: '4242', userload: 'no', cluster: 'alpha' }),
        checkLine(raw[1], { user: alice, module: 'tool/1.0', path: tool, jobid: '4242', userload: 'yes', cluster: 'alpha' }),
        checkLine(raw[2], { user: bob, module: 'lib/2.0', path: lib, jobid: '', userload: 'no' }),
        checkLine(raw[3], { user: bob, module: 'tool/1.0', path: tool, jobid: '', userload: 'yes' }),
      ];
      for (const time of times) {
        assert.ok(Number(time) >= before - 1 && Number(time) <= after + 1, `time=${time} outside the test's run`);
      }

      assert.deepEqual(parseFile(logFile), [
        record(times[0], alice, 'lib/2.0', lib, '4242', false, 'alpha'),
        record(times[1], alice, 'tool/1.0', tool, '4242', true, 'alpha'),
        record(times[2], bob, 'lib/2.0', lib, null, false),
        record(times[3], bob, 'tool/1.0', tool, null, true),
      ]);
    });

    await t.test('a PBS job id, and a modulefile path with a space is quoted', async () => {
      const user = ME;
      const r = moduleCommand(['load', 'spaced/1.0'], moduleEnv(s, { USER: user, PBS_JOBID: '77.pbs01' }));
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.loaded, 'spaced/1.0');
      const path = `${spaced}/spaced/1.0.lua`;
      const [line] = await nextLines(1);
      const time = checkLine(line, { user, module: 'spaced/1.0', path: `"${path}"`, jobid: '77.pbs01', userload: 'yes' });
      const records = parseFile(logFile);
      assert.deepEqual(records[records.length - 1], record(time, user, 'spaced/1.0', path, '77.pbs01', true));
    });

    await t.test('a failing logger does not fail module load, and logs nothing', async () => {
      const failBin = join(tmp.path, 'failbin');
      mkdirSync(failBin);
      copyFileSync(join(FIXTURES, 'bin', 'failing-logger'), join(failBin, 'logger'));
      const cases: [string, Record<string, string>][] = [
        ['LMOD_TRACKING_LOGGER names a logger that exits 1', { LMOD_TRACKING_LOGGER: join(FIXTURES, 'bin', 'failing-logger') }],
        ['a logger that exits 1 first on PATH', { PATH: `${failBin}:/usr/local/bin:/usr/bin:/bin` }],
        ['the socket does not exist', { LMOD_TRACKING_SOCKET: join(tmp.path, 'no-such.sock') }],
      ];
      for (const [what, env] of cases) {
        const r = moduleCommand(['load', 'tool/1.0'], moduleEnv(s, env));
        assert.equal(r.status, 0, `${what}: ${r.stderr}`);
        assert.equal(r.loaded, 'lib/2.0:tool/1.0', what);
        assert.doesNotMatch(r.stdout + r.stderr, /THIS-MUST-NOT-BE-EVALUATED|failing on purpose/, what);
      }
      await expectNothingLogged();
    });

    await t.test('a module command that fails logs nothing, not even the dependencies it loaded', async () => {
      const broken = moduleCommand(['load', 'broken/1.0'], moduleEnv(s));
      assert.notEqual(broken.status, 0);
      assert.match(broken.stderr, /broken\/1\.0 fails on purpose/);
      const unknown = moduleCommand(['load', 'tool/1.0', 'no-such-module'], moduleEnv(s));
      assert.notEqual(unknown.status, 0);
      assert.match(unknown.stderr, /no-such-module/);
      await expectNothingLogged();
    });

    await t.test('an account that is not in the passwd database, with no USER, is not logged', async (t) => {
      if (!IS_ROOT || !SETPRIV) {
        const reason = 'needs root and setpriv to run as a uid without a passwd entry';
        if (REQUIRED) throw new Error(reason);
        return t.skip(reason);
      }
      let uid = 61000 + (process.pid % 3000);
      while (run('getent', ['passwd', String(uid)]).status === 0) uid++;
      const r = moduleCommand(['load', 'tool/1.0'], moduleEnv(s), [SETPRIV, `--reuid=${uid}`, `--regid=${uid}`, '--clear-groups']);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.loaded, 'lib/2.0:tool/1.0');
      await expectNothingLogged();
    });

    await t.test('without the socket override: luaposix syslog, and logger where posix.syslog is missing', async (t) => {
      if (!IS_ROOT || !UNSHARE) {
        const reason = 'needs root and unshare to give /dev/log to the private rsyslogd in a mount namespace';
        if (REQUIRED) throw new Error(reason);
        return t.skip(reason);
      }
      const user = ME;
      const failBin = join(tmp.path, 'failbin-ns');
      const recordBin = join(tmp.path, 'recordbin');
      mkdirSync(failBin);
      mkdirSync(recordBin);
      copyFileSync(join(FIXTURES, 'bin', 'failing-logger'), join(failBin, 'logger'));
      copyFileSync(join(FIXTURES, 'bin', 'recording-logger'), join(recordBin, 'logger'));
      const argsFile = join(tmp.path, 'logger-args');
      const noLuaposixHook = join(tmp.path, 'no-luaposix');
      cpSync(join(FIXTURES, 'no-luaposix'), noLuaposixHook, { recursive: true });
      const nsScript = writeNamespaceScript(tmp.path, rsyslog.socket);

      const inNamespace = (env: Record<string, string>): ModuleRun => {
        const base = moduleEnv(s, { USER: user, ...env });
        delete base.LMOD_TRACKING_SOCKET;
        return moduleCommand(['load', 'tool/1.0'], base, [UNSHARE, '--mount', '--propagation', 'private', 'bash', nsScript]);
      };
      const expectTool = async (user: string): Promise<string[]> => {
        const [lib, tool] = await nextLines(2);
        const libMsg = HEADER.exec(lib)![1];
        checkLine(lib, { user, module: 'lib/2.0', path: `${modulepath}/lib/2.0.lua`, jobid: '', userload: 'no' });
        checkLine(tool, { user, module: 'tool/1.0', path: `${modulepath}/tool/1.0.lua`, jobid: '', userload: 'yes' });
        return [libMsg, HEADER.exec(tool)![1]];
      };

      // posix.syslog writes to /dev/log; a failing logger first on PATH proves logger was not used.
      // The account comes from the passwd database, not from $USER.
      const viaPosix = inNamespace({ USER: 'user-from-env', PATH: `${failBin}:/usr/local/bin:/usr/bin:/bin` });
      assert.equal(viaPosix.status, 0, viaPosix.stderr);
      assert.equal(viaPosix.loaded, 'lib/2.0:tool/1.0');
      await expectTool(user);

      // Without posix.syslog: `logger -t ModuleUsageTracking -p local0.info -- MESSAGE` to
      // /dev/log. Without posix.pwd the account comes from $USER, which differs from the uid's here.
      const viaLogger = inNamespace({
        USER: 'user-from-env',
        PATH: `${recordBin}:/usr/local/bin:/usr/bin:/bin`,
        LMOD_PACKAGE_PATH: noLuaposixHook,
        LMOD_TEST_SHIPPED_HOOK: join(s.hookDir, 'SitePackage.lua'),
        LMOD_TEST_LOGGER_RECORD: argsFile,
      });
      assert.equal(viaLogger.status, 0, viaLogger.stderr);
      const messages = await expectTool('user-from-env');
      const args = lines(run('cat', [argsFile]).stdout);
      const prefix = ['-t', 'ModuleUsageTracking', '-p', 'local0.info', '--'];
      assert.deepEqual(args, [...prefix, messages[0], ...prefix, messages[1]]);
    });
  } finally {
    await rsyslog.stop();
    users.remove();
    tmp.remove();
  }
});

/**
 * A script that, inside a private mount namespace, puts a fresh /dev (null, zero, urandom, tty
 * and the fd links) over the real one with `log` pointing at the private rsyslogd's socket,
 * then runs its arguments. The machine's /dev/log is never touched.
 */
function writeNamespaceScript(dir: string, socket: string): string {
  const path = join(dir, 'with-private-dev-log.sh');
  const oldDev = join(dir, 'olddev');
  mkdirSync(oldDev);
  writeFileSync(
    path,
    `set -e
mount --rbind /dev '${oldDev}'
mount -t tmpfs -o mode=755 lmod-test-dev /dev
for node in null zero full random urandom tty; do
  touch /dev/$node
  mount --bind '${oldDev}'/$node /dev/$node
done
umount -l '${oldDev}'
ln -s /proc/self/fd /dev/fd
ln -s /proc/self/fd/0 /dev/stdin
ln -s /proc/self/fd/1 /dev/stdout
ln -s /proc/self/fd/2 /dev/stderr
ln -s '${socket}' /dev/log
exec "$@"
`,
  );
  return path;
}
