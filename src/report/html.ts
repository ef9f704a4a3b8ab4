import { CSP, SCRIPT, STYLE } from './page-assets';
import { escapeHtml, formatNumber } from './svg';
import type { Cell, Column, ReportTable } from './table';

/**
 * The HTML page's building blocks: tables, sections and the page around them. One self-contained file: the inline style
 * and script are the only ones its Content-Security-Policy allows, nothing is fetched, so it opens offline and can be
 * mailed or archived.
 */

/** Columns holding a stored time: shown as the day, the full time on hover and for sorting. */
const TIME_KEYS = new Set(['first_load', 'last_load', 'start', 'end']);

/** A table cell: a count with separators, a time as its day, anything else as text. */
export function cellHtml(column: Column, v: Cell): string {
  const cls = column.numeric ? ' class="num"' : '';
  if (v === null) return `<td${cls} data-v=""><span class="none">-</span></td>`;
  if (typeof v === 'number') return `<td${cls} data-v="${v}">${formatNumber(v)}</td>`;
  if (TIME_KEYS.has(column.key)) return `<td data-v="${escapeHtml(v)}" title="${escapeHtml(v)}">${escapeHtml(v.slice(0, 10))}</td>`;
  return `<td${cls}>${escapeHtml(v)}</td>`;
}

export interface TableOptions {
  /** The id the search box points at; set to make the table searchable. */
  id?: string;
  /** What the rows are, for the search box's count ("modules"). */
  noun?: string;
  /** Per row: extra cells' HTML by column key (e.g. a name with its versions) and the text the search matches. */
  custom?: (row: Record<string, Cell>) => { cells?: Record<string, string>; search?: string };
}

/** A sortable table (the page's script adds the heading buttons), with a search box when it has an id. */
export function htmlTable(table: ReportTable, o: TableOptions = {}): string {
  const head = table.columns
    .map((c) => `<th${c.numeric ? ' class="num"' : TIME_KEYS.has(c.key) ? ' class="time"' : ''} scope="col">${escapeHtml(c.label)}</th>`)
    .join('');
  const body = table.rows
    .map((r) => {
      const custom = o.custom?.(r) ?? {};
      const search = custom.search === undefined ? '' : ` data-search="${escapeHtml(custom.search)}"`;
      return `<tr${search}>${table.columns.map((c) => custom.cells?.[c.key] ?? cellHtml(c, r[c.key])).join('')}</tr>`;
    })
    .join('\n');
  const id = o.id === undefined ? '' : ` id="${escapeHtml(o.id)}"`;
  const tools =
    o.id === undefined
      ? ''
      : `<div class="tools"><input type="search" placeholder="Search ${escapeHtml(o.noun ?? 'rows')}" aria-label="Search ${escapeHtml(o.noun ?? 'rows')}" ` +
        `data-search="${escapeHtml(o.id)}"><span class="count" id="${escapeHtml(o.id)}-count" data-noun="${escapeHtml(o.noun ?? 'rows')}">` +
        `${formatNumber(table.rows.length)} ${escapeHtml(o.noun ?? 'rows')}</span></div>`;
  return `${tools}<div class="scroll"><table class="sortable"${id}><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table></div>`;
}

/** A paragraph saying why a part of the page is empty. */
export function emptyHtml(reason: string): string {
  return `<p class="empty">${escapeHtml(reason)}</p>`;
}

export interface Section {
  id: string;
  /** The navigation bar's short name. */
  nav: string;
  heading: string;
  /** HTML under the heading. */
  body: string;
}

/** The whole page: title, what it was made from, a navigation bar, the sections in order. */
export function renderPage(title: string, meta: string[], sections: Section[]): string {
  const nav = sections.map((s) => `<li><a href="#${escapeHtml(s.id)}">${escapeHtml(s.nav)}</a></li>`).join('');
  const body = sections.map((s) => `<section id="${escapeHtml(s.id)}">\n<h2>${escapeHtml(s.heading)}</h2>\n${s.body}\n</section>`).join('\n');
  return (
    '<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n' +
    `<meta http-equiv="Content-Security-Policy" content="${CSP}">\n` +
    '<meta name="viewport" content="width=device-width, initial-scale=1">\n' +
    `<title>${escapeHtml(title)}</title>\n<style>${STYLE}</style>\n</head>\n<body>\n` +
    `<header><h1>${escapeHtml(title)}</h1>\n${meta.map((m) => `<p class="meta">${escapeHtml(m)}</p>`).join('\n')}\n</header>\n` +
    `<nav><ul>${nav}</ul></nav>\n<main>\n${body}\n</main>\n<script>${SCRIPT}</script>\n</body>\n</html>\n`
  );
}
