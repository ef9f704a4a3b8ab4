import type { Cell, ReportTable } from './table';

/** The aligned, human-readable table: a heading, a rule, one line a row; null shows as `-`. */
export function formatTable(report: ReportTable): string {
  const text = (v: Cell) => (v === null ? '-' : String(v));
  const cells = report.rows.map((row) => report.columns.map((c) => text(row[c.key])));
  const widths = report.columns.map((c, i) => Math.max(c.label.length, ...cells.map((r) => r[i].length)));
  const line = (values: string[]) =>
    values
      .map((v, i) => (report.columns[i].numeric ? v.padStart(widths[i]) : v.padEnd(widths[i])))
      .join('  ')
      .trimEnd();
  const out = [line(report.columns.map((c) => c.label)), line(widths.map((w) => '-'.repeat(w))), ...cells.map(line)];
  return `${out.join('\n')}\n`;
}

/** One JSON object a row, keys in column order. */
export function formatNdjson(report: ReportTable): string {
  return report.rows.map((row) => `${JSON.stringify(Object.fromEntries(report.columns.map((c) => [c.key, row[c.key]])))}\n`).join('');
}

function csvField(v: Cell): string {
  if (v === null) return '';
  const s = String(v);
  return /[",\r\n]/.test(s) || /^\s|\s$/.test(s) ? `"${s.replace(/"/g, '""')}"` : s;
}

/** RFC 4180: a header of column keys, CRLF line ends, null as an empty field. */
export function formatCsv(report: ReportTable): string {
  const lines = [report.columns.map((c) => csvField(c.key)), ...report.rows.map((row) => report.columns.map((c) => csvField(row[c.key])))];
  return lines.map((fields) => `${fields.join(',')}\r\n`).join('');
}
