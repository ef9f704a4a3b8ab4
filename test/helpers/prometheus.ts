import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { findProgram, missing } from './contrib';

/**
 * Real Prometheus tools for the tests of `lmod-report --format openmetrics` (Debian 12's promtool 2.42 and
 * node_exporter 1.5.0, installed by .ci/setup.d/prometheus.sh). Both parse only the Prometheus text format
 * 0.0.4: `# UNIT` and `# EOF` pass as comments, OpenMetrics-only syntax (float timestamps, `info` or `stateset`
 * types, `\"` in HELP) is an error.
 */

export const PROMTOOL = findProgram(['/usr/bin/promtool', 'promtool']);
export const NODE_EXPORTER = findProgram(['/usr/bin/prometheus-node-exporter', 'prometheus-node-exporter', 'node_exporter']);

/** Why these tests cannot run here ('not installed: promtool, prometheus-node-exporter'), or null. */
export const PROMETHEUS_MISSING: string | null = missing({ promtool: PROMTOOL, 'prometheus-node-exporter': NODE_EXPORTER });

/**
 * `promtool check metrics` on `text` (it reads stdin). Status 0: clean; 3: lint findings (one a line,
 * `<metric> <problem>`); 1: unparsable (`error while linting: text format parsing error in line N: ...`).
 * promtool 2.42 writes them all to stderr; both streams are kept in case a later one moves them.
 */
export function promtoolCheckMetrics(text: string): { status: number; output: string } {
  if (PROMTOOL === null) throw new Error('promtool is not installed');
  const result = spawnSync(PROMTOOL, ['check', 'metrics'], { input: text, encoding: 'utf8', timeout: 30_000 });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

export interface NodeExporter {
  /** http://127.0.0.1:PORT/metrics */
  readonly url: string;
  /** One GET of /metrics: the text format 0.0.4 whatever is asked, values re-rendered (`1.7e9` comes back as `1.7e+09`). */
  scrape(): Promise<string>;
  /**
   * Its log so far. Look here for `level=error`: a duplicate series, or a family whose HELP differs between two
   * files, is only logged (the scrape is still 200 with node_textfile_scrape_error 0, the offending series dropped).
   */
  log(): string;
  stop(): Promise<void>;
}

/**
 * node_exporter on a private loopback port with only the textfile collector (and no go_/process_ metrics), so a
 * scrape holds just the `*.prom` files of `textfileDir` plus node_textfile_mtime_seconds{file=...},
 * node_textfile_scrape_error and node_scrape_collector_*. It re-reads the directory on every scrape.
 */
export async function startNodeExporter(textfileDir: string): Promise<NodeExporter> {
  if (NODE_EXPORTER === null) throw new Error('prometheus-node-exporter is not installed');
  // Port 0: the kernel picks a free port, which node_exporter logs (`msg="Listening on" address=127.0.0.1:N`),
  // so there is no window in which another test could take a port chosen beforehand.
  const args = ['--web.listen-address=127.0.0.1:0', '--web.disable-exporter-metrics', '--collector.disable-defaults', '--collector.textfile'];
  const child: ChildProcess = spawn(NODE_EXPORTER, [...args, `--collector.textfile.directory=${textfileDir}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let log = '';
  child.once('error', (error) => (log += `${error}\n`));
  child.stderr!.setEncoding('utf8');
  child.stderr!.on('data', (chunk: string) => {
    if (log.length < 1_000_000) log += chunk;
  });
  // A test that throws before stop() must not leave it running after the test process.
  const onExit = () => child.kill('SIGKILL');
  process.once('exit', onExit);
  const exited = new Promise<void>((done) => child.once('close', () => done()));
  const running = () => child.exitCode === null && child.signalCode === null;

  let url = '';
  const scrape = async (): Promise<string> => {
    const response = await fetch(url, { signal: AbortSignal.timeout(10_000) });
    const body = await response.text();
    if (!response.ok) throw new Error(`node_exporter answered ${response.status}: ${body}`);
    return body;
  };
  const stop = async (): Promise<void> => {
    process.removeListener('exit', onExit);
    if (!running()) return;
    child.kill('SIGTERM');
    const killer = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(killer);
  };

  for (let i = 0; i < 200 && running(); i++) {
    const address = /msg="Listening on" address=(127\.0\.0\.1:\d+)/.exec(log);
    if (address) {
      url = `http://${address[1]}/metrics`;
      try {
        await scrape();
        return { url, scrape, log: () => log, stop };
      } catch {
        // Listening but not answering yet.
      }
    }
    await sleep(50);
  }
  await stop();
  throw new Error(`node_exporter did not answer on 127.0.0.1 within 10 s (exit ${child.exitCode}); its log: ${log}`);
}

/**
 * Puts `text` in `dir/name` (name ending `.prom`) as node_exporter's docs say: written under another name in the
 * same directory, then renamed, so a scrape never reads half a file (a cut line drops the whole file, a cut at a
 * line end silently drops series). The temporary name does not end in `.prom`, so the collector skips it.
 */
export function writeTextfile(dir: string, name: string, text: string): string {
  const path = join(dir, name);
  writeFileSync(`${path}.${process.pid}.tmp`, text);
  renameSync(`${path}.${process.pid}.tmp`, path);
  return path;
}

export interface Sample {
  name: string;
  labels: Record<string, string>;
  value: number;
}

const VALUES: Record<string, number> = { '+Inf': Infinity, '-Inf': -Infinity, NaN: Number.NaN };

/**
 * The samples of a text-format scrape, label values unescaped (`\\`, `\"`, `\n`), values as numbers: compare
 * these, not lines, since node_exporter sorts labels and re-renders values.
 */
export function parseSamples(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)(?:\s+\S+)?$/.exec(line);
    if (!match) throw new Error(`not a sample line: ${line}`);
    const labels: Record<string, string> = {};
    const body = match[2] ?? '';
    const pair = /\s*([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"\s*,?/y;
    for (let m = pair.exec(body); m !== null; m = pair.exec(body)) {
      labels[m[1]] = m[2].replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
      if (pair.lastIndex === body.length) break;
    }
    if (body.trim() !== '' && pair.lastIndex !== body.length) throw new Error(`bad labels: ${line}`);
    samples.push({ name: match[1], labels, value: VALUES[match[3]] ?? Number(match[3]) });
  }
  return samples;
}
