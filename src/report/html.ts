import type { Cell, ReportTable } from './table';

/**
 * The `--format html` page: one self-contained file (inline CSS and SVG, no script, a CSP that forbids every fetch), so
 * it opens offline and can be mailed or archived. Each chart is followed by the table it draws. Bars carry
 * data-label/data-value so the page can be checked by a machine.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface Bar {
  label: string;
  value: number;
}

const BAR_AREA = 480;
const LABEL_AREA = 240;
const ROW = 22;

/** Horizontal bars, one row each, longest first as given; lengths in proportion to the largest value. */
export function barChartSvg(id: string, caption: string, bars: Bar[]): string {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const height = bars.length * ROW + 10;
  const width = LABEL_AREA + BAR_AREA + 80;
  const rows = bars.map((b, i) => {
    const y = 5 + i * ROW;
    const w = round((b.value / max) * BAR_AREA);
    const label = escapeHtml(b.label);
    return (
      `<text class="label" x="${LABEL_AREA - 8}" y="${y + 15}" text-anchor="end">${label}</text>` +
      `<rect class="bar" x="${LABEL_AREA}" y="${y + 2}" width="${w}" height="${ROW - 6}" data-label="${label}" data-value="${b.value}">` +
      `<title>${label}: ${b.value}</title></rect>` +
      `<text class="value" x="${LABEL_AREA + w + 6}" y="${y + 15}">${b.value}</text>`
    );
  });
  return svg(id, caption, width, height, rows.join(''));
}

const PLOT_HEIGHT = 200;

/** Vertical bars over time, left to right; heights in proportion to the largest value. */
export function columnChartSvg(id: string, caption: string, bars: Bar[]): string {
  const max = Math.max(1, ...bars.map((b) => b.value));
  const step = Math.max(4, Math.min(48, Math.floor(900 / Math.max(1, bars.length))));
  const left = 60;
  const top = 10;
  const width = left + bars.length * step + 20;
  const height = top + PLOT_HEIGHT + 70;
  // Label every k-th period so the labels never overlap.
  const every = Math.ceil(14 / step);
  const parts = [
    `<line class="axis" x1="${left}" y1="${top + PLOT_HEIGHT}" x2="${width - 10}" y2="${top + PLOT_HEIGHT}"/>`,
    `<text class="tick" x="${left - 6}" y="${top + 10}" text-anchor="end">${max}</text>`,
    `<text class="tick" x="${left - 6}" y="${top + PLOT_HEIGHT}" text-anchor="end">0</text>`,
  ];
  bars.forEach((b, i) => {
    const h = round((b.value / max) * PLOT_HEIGHT);
    const x = left + i * step;
    const label = escapeHtml(b.label);
    parts.push(
      `<rect class="bar" x="${x + 1}" y="${round(top + PLOT_HEIGHT - h)}" width="${step - 2}" height="${h}" data-label="${label}" data-value="${b.value}">` +
        `<title>${label}: ${b.value}</title></rect>`,
    );
    if (i % every === 0) {
      const lx = x + step / 2;
      const ly = top + PLOT_HEIGHT + 12;
      parts.push(`<text class="tick" x="${lx}" y="${ly}" text-anchor="end" transform="rotate(-45 ${lx} ${ly})">${label}</text>`);
    }
  });
  return svg(id, caption, width, height, parts.join(''));
}

function round(n: number): number {
  return Math.round(n * 100) / 100;
}

function svg(id: string, caption: string, width: number, height: number, body: string): string {
  return (
    `<figure><figcaption>${escapeHtml(caption)}</figcaption>` +
    `<svg id="${escapeHtml(id)}" class="chart" xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" ` +
    `viewBox="0 0 ${width} ${height}" role="img" aria-label="${escapeHtml(caption)}">${body}</svg></figure>`
  );
}

function cellHtml(v: Cell): string {
  return v === null ? '<span class="none">-</span>' : escapeHtml(String(v));
}

function htmlTable(table: ReportTable): string {
  const head = table.columns.map((c) => `<th${c.numeric ? ' class="num"' : ''}>${escapeHtml(c.label)}</th>`).join('');
  const body = table.rows
    .map((r) => `<tr>${table.columns.map((c) => `<td${c.numeric ? ' class="num"' : ''}>${cellHtml(r[c.key])}</td>`).join('')}</tr>`)
    .join('\n');
  const empty = table.rows.length === 0 ? '<p class="empty">No rows.</p>' : '';
  return `<table><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>${empty}`;
}

export interface Section {
  id: string;
  heading: string;
  charts: string[];
  table: ReportTable;
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 2em; color: #222; }
h1 { font-size: 1.5em; } h2 { font-size: 1.2em; margin-top: 2em; }
.meta { color: #555; }
.chart { display: block; margin: 0.5em 0 1em; max-width: 100%; height: auto; }
figure { margin: 0; } figcaption { color: #555; font-size: 0.95em; }
.chart .bar { fill: #3b6ea8; } .chart .label, .chart .value, .chart .tick { font-size: 12px; fill: #333; }
.chart .axis { stroke: #888; }
table { border-collapse: collapse; margin-bottom: 1em; }
th, td { padding: 2px 10px; border-bottom: 1px solid #ddd; text-align: left; white-space: nowrap; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
.none, .empty { color: #999; }
`;

/** The whole page. */
export function renderPage(title: string, meta: string[], sections: Section[]): string {
  const body = sections
    .map((s) => `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.heading)}</h2>\n${s.charts.join('\n')}\n${htmlTable(s.table)}\n</section>`)
    .join('\n');
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n` +
    `<h1>${escapeHtml(title)}</h1>\n${meta.map((m) => `<p class="meta">${escapeHtml(m)}</p>`).join('\n')}\n${body}\n</body>\n</html>\n`
  );
}
