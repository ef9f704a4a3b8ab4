import type { ReportTable } from './table';

/**
 * `--format openmetrics`: a report as gauges for Prometheus, through node_exporter's textfile collector. Written in the
 * text format both node_exporter and `promtool check metrics` parse (HELP and TYPE per family, samples grouped, no
 * timestamps), ended by OpenMetrics' `# EOF`, which both read as a comment. Units are base units, as promtool asks:
 * core-hours are exported as core-seconds, times as Unix seconds.
 */

/** The reports that have a metrics form. */
export const METRIC_REPORTS = ['modules', 'users', 'accounts'] as const;
export type MetricReport = (typeof METRIC_REPORTS)[number];

interface Family {
  name: string;
  help: string;
  /** The sample's value from a row, or undefined when the row has no such value (the report has no such column). */
  value: (row: Record<string, unknown>, now: number) => number | undefined;
}

const count =
  (column: string) =>
  (row: Record<string, unknown>): number | undefined =>
    row[column] === undefined || row[column] === null ? undefined : Number(row[column]);
const seconds =
  (column: string) =>
  (row: Record<string, unknown>): number | undefined =>
    row[column] === undefined ? undefined : Math.round(Number(row[column]) * 3600);
const unixTime = (row: Record<string, unknown>): number | undefined => (typeof row.last_load === 'string' ? Date.parse(row.last_load) / 1000 : undefined);
const age = (row: Record<string, unknown>, now: number): number | undefined => {
  const last = unixTime(row);
  return last === undefined ? undefined : Math.max(0, Math.round(now - last));
};

const JOB_FAMILIES = (prefix: string, what: string): Family[] => [
  { name: `${prefix}_jobs`, help: `Slurm jobs ${what}.`, value: count('jobs') },
  { name: `${prefix}_core_seconds`, help: `Core-seconds (core-hours times 3600) of the Slurm jobs ${what}.`, value: seconds('core_hours') },
  { name: `${prefix}_gpu_seconds`, help: `GPU-seconds (GPU-hours times 3600) of the Slurm jobs ${what}.`, value: seconds('gpu_hours') },
];

/** Per report: its label columns and its families. */
const SHAPES: Record<MetricReport, { labels: string[]; families: Family[] }> = {
  modules: {
    labels: ['name', 'module', 'version'],
    families: [
      { name: 'lmod_module_users', help: 'Distinct users who loaded the module in the report period.', value: count('users') },
      { name: 'lmod_module_loads', help: 'Loads of the module in the report period.', value: count('loads') },
      { name: 'lmod_module_hosts', help: 'Distinct hosts the module was loaded on in the report period.', value: count('hosts') },
      { name: 'lmod_module_last_load_timestamp_seconds', help: 'Unix time of the last load of the module.', value: unixTime },
      { name: 'lmod_module_seconds_since_last_load', help: 'Seconds from the last load of the module to the report.', value: age },
      ...JOB_FAMILIES('lmod_module', 'the module was loaded in'),
    ],
  },
  users: {
    labels: ['user', 'module'],
    families: [
      { name: 'lmod_user_loads', help: 'Module loads of the user in the report period.', value: count('loads') },
      { name: 'lmod_user_modules', help: 'Distinct modules the user loaded in the report period.', value: count('modules') },
      { name: 'lmod_user_last_load_timestamp_seconds', help: "Unix time of the user's last module load.", value: unixTime },
    ],
  },
  accounts: {
    labels: ['account'],
    families: [
      ...JOB_FAMILIES('lmod_account', 'of the account'),
      { name: 'lmod_account_users', help: 'Distinct users of the Slurm jobs of the account.', value: count('users') },
    ],
  },
};

/** A label value as the text format quotes it: backslash, double quote and newline escaped, nothing else. */
function labelValue(value: string): string {
  return value.replace(/[\\"\n]/g, (c) => (c === '\n' ? '\\n' : `\\${c}`));
}

export function formatMetrics(report: MetricReport, table: ReportTable, now: Date): string {
  const shape = SHAPES[report];
  const columns = new Set(table.columns.map((c) => c.key));
  const labels = shape.labels.filter((l) => columns.has(l));
  const nowSeconds = now.getTime() / 1000;
  const out: string[] = [];
  for (const family of shape.families) {
    const samples: string[] = [];
    for (const row of table.rows) {
      const value = family.value(row, nowSeconds);
      if (value === undefined || !Number.isFinite(value)) continue;
      const set = labels.filter((l) => row[l] !== null).map((l) => `${l}="${labelValue(String(row[l]))}"`);
      samples.push(`${family.name}{${set.join(',')}} ${value}`);
    }
    // A family the report has no column for (core-seconds without --weight) is left out whole.
    if (samples.length === 0 && table.rows.length > 0) continue;
    out.push(`# HELP ${family.name} ${family.help}`, `# TYPE ${family.name} gauge`, ...samples);
  }
  return `${[...out, '# EOF'].join('\n')}\n`;
}
