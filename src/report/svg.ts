import type { Every } from './queries';

/**
 * The page's charts as SVG written here, not drawn by a script: they show without JavaScript (a mailed or printed page),
 * weigh a few hundred bytes a bar, and every bar carries its label and value (data-label, data-value) so a test can read
 * them. Each hover target carries `data-tip`, the text the page's script shows on hover.
 */

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

export interface Bar {
  label: string;
  value: number;
}

/** A count as people read it: 12,345 or 12.5 (a tenth only below 100: 190,893,967 core-hours). */
export function formatNumber(n: number): string {
  return n.toLocaleString('en-US', { maximumFractionDigits: Math.abs(n) < 100 ? 1 : 0 });
}

/** "7 loads", "1 load". */
function countOf(n: number, unit: string): string {
  return `${formatNumber(n)} ${n === 1 ? unit.replace(/s$/, '') : unit}`;
}

/** An axis label: 950, 12k, 1.5M. */
export function compactNumber(n: number): string {
  if (n >= 1e6) return `${trim(n / 1e6)}M`;
  if (n >= 1e4) return `${trim(n / 1e3)}k`;
  return formatNumber(n);
}

function trim(n: number): string {
  return String(Math.round(n * 10) / 10);
}

/**
 * Gridline values from 0 past `max`: about `target` steps of 1, 2, 2.5 or 5 times a power of ten, never a fraction for
 * counts below 1 (a count of 3 gets 0, 1, 2, 3).
 */
export function niceTicks(max: number, target = 5): number[] {
  if (!(max > 0)) return [0, 1];
  const raw = max / target;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = Math.max(1, [1, 2, 2.5, 5, 10].map((m) => m * magnitude).find((s) => s >= raw) ?? 10 * magnitude);
  const top = Math.ceil(max / step - 1e-9) * step;
  const ticks: number[] = [];
  for (let v = 0; v <= top + step / 2; v += step) ticks.push(Math.round(v * 1000) / 1000);
  return ticks;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

/** A period start ('YYYY-MM-DD') as a reader says it: "Mar 2024" for a month, "4 Mar 2024" for a day or week. */
export function periodLabel(start: string, every: Every): string {
  const month = `${MONTHS[Number(start.slice(5, 7)) - 1]} ${start.slice(0, 4)}`;
  return every === 'month' ? month : `${Number(start.slice(8, 10))} ${month}`;
}

/** The longer form for a tooltip: "March 2024", "week of 4 Mar 2024", "4 Mar 2024". */
export function periodName(start: string, every: Every): string {
  return every === 'week' ? `week of ${periodLabel(start, every)}` : periodLabel(start, every);
}

const r2 = (n: number): number => Math.round(n * 100) / 100;

function figure(id: string, caption: string, width: number, height: number, body: string): string {
  return (
    `<figure><figcaption>${escapeHtml(caption)}</figcaption>` +
    `<svg id="${escapeHtml(id)}" class="chart" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" ` +
    `width="${width}" height="${height}" role="img" aria-label="${escapeHtml(caption)}">${body}</svg></figure>`
  );
}

const RANK_LABELS = 220;
const RANK_PLOT = 600;
const RANK_ROW = 22;
const RANK_TOP = 8;
const RANK_LABEL_CHARS = 32;

/**
 * Horizontal bars, one row each in the order given, on a value axis with gridlines and ticks below. `unit` names the
 * value in the tooltip ("users", "core-hours").
 */
export function barChartSvg(id: string, caption: string, bars: Bar[], unit: string): string {
  const ticks = niceTicks(Math.max(0, ...bars.map((b) => b.value)));
  const top = ticks[ticks.length - 1];
  const plotBottom = RANK_TOP + bars.length * RANK_ROW;
  const x = (v: number): number => r2(RANK_LABELS + (v / top) * RANK_PLOT);
  const parts = ticks.map(
    (t) =>
      `<line class="grid" x1="${x(t)}" y1="${RANK_TOP}" x2="${x(t)}" y2="${plotBottom}"/>` +
      `<text class="tick" x="${x(t)}" y="${plotBottom + 16}" text-anchor="middle">${compactNumber(t)}</text>`,
  );
  bars.forEach((b, i) => {
    const y = RANK_TOP + i * RANK_ROW;
    const label = escapeHtml(b.label);
    // The label area holds about 32 characters; the whole name is in the tooltip.
    const shown = escapeHtml(b.label.length > RANK_LABEL_CHARS ? `${b.label.slice(0, RANK_LABEL_CHARS - 1)}\u2026` : b.label);
    const tip = escapeHtml(`${b.label}: ${countOf(b.value, unit)}`);
    parts.push(
      `<g class="row" data-tip="${tip}"><rect class="hit" x="0" y="${y}" width="${RANK_LABELS + RANK_PLOT + 70}" height="${RANK_ROW}"/>` +
        `<text class="label" x="${RANK_LABELS - 8}" y="${y + 15}" text-anchor="end">${shown}</text>` +
        `<rect class="bar" x="${RANK_LABELS}" y="${y + 3}" width="${r2(x(b.value) - RANK_LABELS)}" height="${RANK_ROW - 6}" data-label="${label}" data-value="${b.value}"/>` +
        `<text class="value" x="${x(b.value) + 5}" y="${y + 15}">${b.value >= 1e6 ? compactNumber(b.value) : formatNumber(b.value)}</text></g>`,
    );
  });
  parts.push(`<line class="axis" x1="${RANK_LABELS}" y1="${RANK_TOP}" x2="${RANK_LABELS}" y2="${plotBottom}"/>`);
  return figure(id, caption, RANK_LABELS + RANK_PLOT + 70, plotBottom + 26, parts.join(''));
}

const TIME_WIDTH = 1000;
const TIME_LEFT = 56;
const TIME_RIGHT = 12;
const TIME_TOP = 10;
const TIME_PLOT = 220;

/**
 * Columns over time, one per period left to right, on a value axis with gridlines; the periods labelled as dates, as many
 * as fit without overlapping. Each column's whole height is its hover target, so an empty period shows its 0 too.
 */
export function timeChartSvg(id: string, caption: string, bars: Bar[], every: Every, unit: string): string {
  const ticks = niceTicks(Math.max(0, ...bars.map((b) => b.value)));
  const top = ticks[ticks.length - 1];
  const step = (TIME_WIDTH - TIME_LEFT - TIME_RIGHT) / Math.max(1, bars.length);
  const base = TIME_TOP + TIME_PLOT;
  const y = (v: number): number => r2(base - (v / top) * TIME_PLOT);
  const parts = ticks.map(
    (t) =>
      `<line class="grid" x1="${TIME_LEFT}" y1="${y(t)}" x2="${TIME_WIDTH - TIME_RIGHT}" y2="${y(t)}"/>` +
      `<text class="tick" x="${TIME_LEFT - 6}" y="${y(t) + 4}" text-anchor="end">${compactNumber(t)}</text>`,
  );
  // A label needs about 60 (month) or 75 (day) units: label every k-th period.
  const every_k = Math.max(1, Math.ceil((every === 'month' ? 60 : 75) / step));
  const gap = step > 6 ? Math.min(4, step * 0.2) : 0;
  bars.forEach((b, i) => {
    const x0 = TIME_LEFT + i * step;
    const tip = escapeHtml(`${periodName(b.label, every)}: ${countOf(b.value, unit)}`);
    parts.push(
      `<g class="col" data-tip="${tip}"><rect class="hit" x="${r2(x0)}" y="${TIME_TOP}" width="${r2(step)}" height="${TIME_PLOT}"/>` +
        `<rect class="bar" x="${r2(x0 + gap / 2)}" y="${y(b.value)}" width="${r2(step - gap)}" height="${r2(base - y(b.value))}" ` +
        `data-label="${escapeHtml(b.label)}" data-value="${b.value}"/></g>`,
    );
    if (i % every_k === 0) {
      parts.push(`<text class="tick" x="${r2(x0 + step / 2)}" y="${base + 16}" text-anchor="middle">${periodLabel(b.label, every)}</text>`);
    }
  });
  parts.push(`<line class="axis" x1="${TIME_LEFT}" y1="${base}" x2="${TIME_WIDTH - TIME_RIGHT}" y2="${base}"/>`);
  return figure(id, caption, TIME_WIDTH, base + 26, parts.join(''));
}

const SPARK_WIDTH = 120;
const SPARK_HEIGHT = 24;

/** A module's loads per period as a small line, its highest period named in the tooltip. */
export function sparklineSvg(name: string, periods: string[], values: number[], every: Every): string {
  const max = Math.max(0, ...values);
  const peak = values.indexOf(max);
  const tip = escapeHtml(
    max === 0
      ? `${name}: no loads`
      : `${name}: ${formatNumber(values.reduce((a, b) => a + b, 0))} loads; most in ${periodName(periods[peak], every)} (${formatNumber(max)})`,
  );
  const dx = values.length > 1 ? (SPARK_WIDTH - 2) / (values.length - 1) : 0;
  const points = values.map((v, i) => `${r2(1 + i * dx)},${r2(SPARK_HEIGHT - 1 - (max === 0 ? 0 : (v / max) * (SPARK_HEIGHT - 2)))}`).join(' ');
  return (
    `<svg class="spark" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${SPARK_WIDTH} ${SPARK_HEIGHT}" width="${SPARK_WIDTH}" height="${SPARK_HEIGHT}" ` +
    `data-tip="${tip}" data-values="${values.join(' ')}" role="img" aria-label="${tip}"><polyline points="${points}"/></svg>`
  );
}
