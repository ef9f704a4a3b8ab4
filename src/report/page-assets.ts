import { createHash } from 'node:crypto';

/**
 * The page's one style sheet and one script, inline so the page is a single offline file. The Content-Security-Policy
 * allows exactly these two by their SHA-256 hashes and nothing else: no other script, no style attribute, no fetch.
 */

export const STYLE = `
:root { --ink: #1f2328; --muted: #59636e; --line: #d8dee4; --bar: #3b6ea8; --hover: #f3f6f9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", sans-serif; margin: 0; color: var(--ink); }
header, main { max-width: 1160px; margin: 0 auto; padding: 0 24px; }
header { padding-top: 20px; }
h1 { font-size: 1.55em; margin: 0 0 4px; }
h2 { font-size: 1.25em; margin: 0 0 10px; }
h3 { font-size: 1.05em; margin: 18px 0 6px; }
.meta { color: var(--muted); margin: 2px 0; }
nav { position: sticky; top: 0; background: #fff; border-bottom: 1px solid var(--line); z-index: 2; }
nav ul { max-width: 1160px; margin: 0 auto; padding: 8px 24px; list-style: none; display: flex; gap: 18px; flex-wrap: wrap; }
nav a { color: var(--bar); text-decoration: none; font-weight: 600; }
/* content-visibility: the browser lays out a section when it comes near the screen, so a long page opens sooner. */
section { padding: 22px 0 10px; border-bottom: 1px solid var(--line); content-visibility: auto; contain-intrinsic-size: auto 900px; }
.cards { display: grid; grid-template-columns: repeat(auto-fill, minmax(170px, 1fr)); gap: 12px; }
.card { border: 1px solid var(--line); border-radius: 6px; padding: 10px 14px; }
.card .v { font-size: 1.5em; font-weight: 600; font-variant-numeric: tabular-nums; }
.card .k { color: var(--muted); }
figure { margin: 0 0 14px; }
figcaption { color: var(--muted); margin-bottom: 4px; }
svg.chart { display: block; width: 100%; height: auto; }
.chart .bar { fill: var(--bar); }
.chart .hit { fill: transparent; }
.chart g:hover .bar { fill: #23507f; }
.chart g.row:hover .hit, .chart g.col:hover .hit { fill: var(--hover); }
.chart .grid { stroke: #e6e9ed; }
.chart .axis { stroke: #8c959f; }
.chart text { font-size: 12px; fill: #333; }
.chart .tick { fill: var(--muted); font-size: 11px; }
svg.spark { display: block; }
svg.spark polyline { fill: none; stroke: var(--bar); stroke-width: 1.5; }
.tools { display: flex; gap: 12px; align-items: center; margin: 6px 0; }
.tools input { font: inherit; padding: 4px 8px; width: 260px; border: 1px solid var(--line); border-radius: 4px; }
.tools .count { color: var(--muted); }
.scroll { max-height: 640px; overflow: auto; border: 1px solid var(--line); border-radius: 4px; }
table { border-collapse: collapse; width: 100%; }
th, td { padding: 3px 10px; border-bottom: 1px solid #eef1f4; text-align: left; white-space: nowrap; vertical-align: top; }
thead th { position: sticky; top: 0; background: #f6f8fa; z-index: 1; }
th.num, td.num { text-align: right; font-variant-numeric: tabular-nums; }
th button { font: inherit; font-weight: 600; border: 0; background: none; padding: 0; cursor: pointer; color: inherit; }
th[aria-sort="ascending"] button::after { content: " \\25B2"; }
th[aria-sort="descending"] button::after { content: " \\25BC"; }
tbody tr:hover { background: var(--hover); }
details summary { cursor: pointer; }
table.versions { width: auto; margin: 4px 0 6px 14px; font-size: 0.92em; }
table.versions th { position: static; }
.none, .note, .empty { color: var(--muted); }
.empty { font-style: italic; }
#tip { position: fixed; pointer-events: none; background: #1f2328; color: #fff; padding: 4px 8px; border-radius: 4px; font-size: 12px; z-index: 3; max-width: 420px; }
@media print { nav, .tools { display: none; } section { content-visibility: visible; } .scroll { max-height: none; overflow: visible; } }
`;

/** Hover tips, sortable tables (click a heading; again to reverse) and the search boxes. */
export const SCRIPT = `
(() => {
  const tip = document.createElement('div');
  tip.id = 'tip';
  tip.hidden = true;
  document.body.appendChild(tip);
  document.addEventListener('mouseover', (e) => {
    const target = e.target instanceof Element ? e.target.closest('[data-tip]') : null;
    tip.hidden = target === null;
    if (target !== null) tip.textContent = target.getAttribute('data-tip');
  });
  document.addEventListener('mousemove', (e) => {
    if (tip.hidden) return;
    tip.style.left = Math.min(e.clientX + 14, window.innerWidth - tip.offsetWidth - 8) + 'px';
    tip.style.top = e.clientY + 16 + 'px';
  });

  const key = (cell, numeric) => {
    const text = cell.dataset.v ?? cell.textContent;
    if (!numeric) return text;
    return text === '' || text === '-' ? NaN : Number(text.replace(/,/g, ''));
  };
  const compare = (a, b, numeric) => {
    if (numeric) return Number.isNaN(a) ? (Number.isNaN(b) ? 0 : 1) : Number.isNaN(b) ? -1 : a - b;
    return a === '' ? (b === '' ? 0 : 1) : b === '' ? -1 : a < b ? -1 : a > b ? 1 : 0;
  };
  for (const table of document.querySelectorAll('table.sortable')) {
    const heads = [...table.tHead.rows[0].cells];
    heads.forEach((th, column) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = th.textContent;
      th.textContent = '';
      th.appendChild(button);
      button.addEventListener('click', () => {
        const numeric = th.classList.contains('num');
        const current = th.getAttribute('aria-sort');
        // Counts and times start with the largest and latest.
        const descending = current === null ? numeric || th.classList.contains('time') : current === 'ascending';
        for (const other of heads) other.removeAttribute('aria-sort');
        th.setAttribute('aria-sort', descending ? 'descending' : 'ascending');
        const body = table.tBodies[0];
        const rows = [...body.rows].map((row, index) => ({ row, index, key: key(row.cells[column], numeric) }));
        rows.sort((a, b) => {
          const missing = (numeric ? Number.isNaN(a.key) : a.key === '') - (numeric ? Number.isNaN(b.key) : b.key === '');
          if (missing !== 0) return missing;
          return (descending ? -compare(a.key, b.key, numeric) : compare(a.key, b.key, numeric)) || a.index - b.index;
        });
        body.append(...rows.map((r) => r.row));
      });
    });
  }

  for (const input of document.querySelectorAll('input[data-search]')) {
    const table = document.getElementById(input.dataset.search);
    const count = document.getElementById(input.dataset.search + '-count');
    const rows = [...table.tBodies[0].rows];
    const noun = count.dataset.noun;
    input.addEventListener('input', () => {
      const query = input.value.trim().toLowerCase();
      let shown = 0;
      for (const row of rows) {
        const hit = query === '' || (row.dataset.search ?? row.cells[0].textContent).toLowerCase().includes(query);
        row.hidden = !hit;
        if (hit) shown += 1;
      }
      count.textContent = shown === rows.length ? rows.length + ' ' + noun : shown + ' of ' + rows.length + ' ' + noun;
    });
  }
})();
`;

const hash = (text: string): string => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;

/** Nothing may load or run but the two blocks above. */
export const CSP = `default-src 'none'; style-src ${hash(STYLE)}; script-src ${hash(SCRIPT)}`;
