import { createWriteStream } from 'node:fs';
import { once } from 'node:events';

/** A small seeded PRNG (mulberry32): the same seed gives the same log on every machine. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const PACKAGES = [
  'gcc',
  'openmpi',
  'python',
  'cuda',
  'intel',
  'hdf5',
  'netcdf',
  'fftw',
  'R',
  'matlab',
  'gromacs',
  'lammps',
  'mpi/openmpi',
  'bio/samtools',
  'bio/bwa',
  'cmake',
  'boost',
  'julia',
  'StdEnv',
  'miniconda3',
  'py-numpy',
  'openblas',
];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

export interface GenerateOptions {
  lines: number;
  seed: number;
  users?: number;
  hosts?: number;
  modules?: number;
  /** Share of lines from other programs (sshd, kernel, ...). */
  foreign?: number;
  /** Share of malformed tracking lines. */
  malformed?: number;
  /** Share of lines delivered twice. */
  duplicates?: number;
  /** Mix in the other real-world formats (RFC 3339/5424 headers, comma pairs, JSON payloads). */
  variety?: boolean;
  /** Epoch seconds of the first line. */
  start?: number;
  /** Mean seconds between two lines (default 0.02: a busy cluster). */
  meanGap?: number;
}

/** Module names with a Zipf-like popularity: a few are loaded a lot, most rarely. */
function moduleNames(count: number, random: () => number): string[] {
  const names: string[] = [];
  for (let i = 0; i < count; i++) {
    const pkg = PACKAGES[i % PACKAGES.length];
    if (pkg === 'StdEnv' && i >= PACKAGES.length) names.push(`${pkg}/${2018 + (i % 7)}`);
    else if (pkg === 'StdEnv') names.push(pkg);
    else names.push(`${pkg}/${1 + (Math.floor(i / PACKAGES.length) % 13)}.${Math.floor(random() * 10)}.${i % 7}`);
  }
  return names;
}

function zipf(random: () => number, n: number): number {
  return Math.min(n - 1, Math.floor((n + 1) ** random() - 1));
}

function header(epoch: number, host: string): string {
  const d = new Date(epoch * 1000);
  const day = String(d.getUTCDate()).padStart(2, ' ');
  const hms = d.toISOString().slice(11, 19);
  return `${MONTHS[d.getUTCMonth()]} ${day} ${hms} ${host}`;
}

/** Builds the lines of a seeded, realistic Lmod tracking log. */
export function* logLines(options: GenerateOptions): Generator<string> {
  const random = prng(options.seed);
  const users = Array.from({ length: options.users ?? 2000 }, (_, i) => `u${String(i).padStart(5, '0')}`);
  const hosts = Array.from({ length: options.hosts ?? 500 }, (_, i) => `node${String(i).padStart(4, '0')}`);
  const modules = moduleNames(options.modules ?? 3000, random);
  let epoch = options.start ?? 1682580177;
  let micros = 0;
  let previous = '';
  for (let i = 0; i < options.lines; i++) {
    if (previous !== '' && random() < (options.duplicates ?? 0)) {
      yield previous;
      continue;
    }
    micros += Math.floor(random() * 2e6 * (options.meanGap ?? 0.02));
    epoch += Math.floor(micros / 1e6);
    micros %= 1e6;
    const host = hosts[Math.floor(random() * hosts.length)];
    const r = random();
    if (r < (options.foreign ?? 0)) {
      previous = `${header(epoch, host)} sshd[${1000 + (i % 30000)}]: Accepted publickey for ${users[i % users.length]} from 10.0.0.${i % 250} port 22 ssh2`;
      yield previous;
      continue;
    }
    const user = users[zipf(random, users.length)];
    const module = modules[zipf(random, modules.length)];
    const path = `/opt/apps/modulefiles/${module}.lua`;
    const time = `${epoch}.${String(micros).padStart(6, '0')}`;
    if (r < (options.foreign ?? 0) + (options.malformed ?? 0)) {
      previous = `${header(epoch, host)} ModuleUsageTracking: user= module=${module} path=${path} host=${host} time=${time}`;
      yield previous;
      continue;
    }
    const pick = options.variety ? random() : 1;
    if (pick < 0.1) {
      const iso = new Date(epoch * 1000).toISOString().slice(0, 19);
      previous = `<13>1 ${iso}.${String(micros).padStart(6, '0')}+00:00 ${host} lmod: - lmod:: username=${user}, cluster=alpha, jobid=${100000 + (i % 5000)}, userload=${random() < 0.7 ? 'yes' : 'no'}, module=${module}, fn=${path}`;
    } else if (pick < 0.2) {
      const iso = new Date(epoch * 1000).toISOString().slice(0, 19);
      previous = `${iso}.${String(micros).padStart(6, '0')}+00:00 ${host} ModuleUsageTracking[${2000 + (i % 9000)}]: user=${user} module=${module} path=${path} host=${host}.cluster.example.org jobid=${random() < 0.5 ? 'interactive' : 200000 + (i % 7000)} userload=${random() < 0.6 ? 'yes' : 'no'} time=${time}`;
    } else if (pick < 0.25) {
      const iso = new Date(epoch * 1000).toISOString().slice(0, 19);
      previous = `${iso}+00:00 ${host} module[${3000 + (i % 5000)}]: { "user": "${user}", "mode": "load", "module": "${module}", "auto": ${random() < 0.3} }`;
    } else {
      previous = `${header(epoch, host)} ModuleUsageTracking: user=${user} module=${module} path=${path} host=${host}.cluster.example.org time=${time}`;
    }
    yield previous;
  }
}

/** Writes the log to a file in large chunks. */
export async function generateLog(path: string, options: GenerateOptions): Promise<void> {
  const out = createWriteStream(path);
  let chunk = '';
  for (const line of logLines(options)) {
    chunk += line + '\n';
    if (chunk.length > 1 << 20) {
      if (!out.write(chunk)) await once(out, 'drain');
      chunk = '';
    }
  }
  out.end(chunk);
  await once(out, 'finish');
}
