/* inspect.js: a panel's menu as in Grafana: View (full screen, key v),
 * Inspect its data, its query as run and its JSON (keys i and e: there is
 * no panel editor here, e shows the query), the data as CSV; Escape
 * closes. What a panel drew is kept by drawn() for the menu to show. */
import { clear, csvText, downloadText, el } from './dom.js';
import { formatTime } from './format.js';
import { frameLength, seriesName } from './frames.js';

const drawnBy = new Map(); /* panel id -> {panel, frames, api} */

function drawn(id, panel, frames, apiAnswer) { drawnBy.set(String(id), { panel, frames, api: apiAnswer }); }
function forget() { drawnBy.clear(); }

function cellText(f, v) {
  if (v === null || v === undefined) return '';
  return f.type === 'time' ? formatTime(v, 'YYYY-MM-DD HH:mm:ss') : String(v);
}

function frameRows(fr, frames) {
  const n = frameLength(fr);
  const header = fr.fields.map((f) => seriesName(f, frames));
  const rows = [];
  for (let i = 0; i < n; i++) rows.push(fr.fields.map((f) => cellText(f, f.values[i])));
  return { header, rows };
}

function dataTab(d) {
  if (!d.frames.length) return el('p', { class: 'muted' }, 'No data');
  return d.frames.map((fr, k) => {
    const { header, rows } = frameRows(fr, d.frames);
    const save = el('button', { type: 'button', class: 'inspect-csv' }, 'Download CSV');
    save.addEventListener('click', () => downloadText(`${(d.panel.title || 'panel').replace(/[^\w.-]+/g, '_')}-${fr.refId || k}.csv`, csvText(header, rows)));
    return el('div', { class: 'inspect-frame' },
      el('div', { class: 'bar' }, el('strong', {}, `${fr.refId || `frame ${k + 1}`}: ${rows.length} rows`), save),
      el('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': `data of ${fr.refId || k}` },
        el('table', { class: 'data' }, el('thead', {}, el('tr', {}, header.map((h) => el('th', { scope: 'col' }, h)))),
          el('tbody', {}, rows.slice(0, 1000).map((r) => el('tr', {}, r.map((c) => el('td', {}, c))))))));
  });
}

function queryTab(d) {
  const r = d.api.range || {};
  return [
    el('p', { class: 'muted' }, `Range ${formatTime(r.from, 'YYYY-MM-DD HH:mm:ss')} to ${formatTime(r.to, 'YYYY-MM-DD HH:mm:ss')} (the dashboard's time zone), interval ${r.interval} (${r.interval_ms} ms). The values of variables and times are parameters ($1, $2, ...), bound, never spliced into the text.`),
    (d.api.frames || []).map((f) => el('div', { class: 'inspect-query' },
      el('h3', {}, f.refId || 'query'),
      el('pre', { class: 'sql-text', tabindex: 0 }, (f.meta && f.meta.executedQueryString) || '(not run)'),
      f.meta && f.meta.params && f.meta.params.length
        ? el('ol', { class: 'params' }, f.meta.params.map((p, i) => el('li', {}, `$${i + 1} = ${p}`))) : null,
      f.error ? el('pre', { class: 'panel-error' }, f.error) : null)),
  ];
}

let open = null;

function closeInspect() {
  if (open) { open.close(); open.remove(); open = null; }
}

/* The inspect dialog of a panel, on tab data, query or json. */
function inspect(id, tab) {
  const d = drawnBy.get(String(id));
  if (!d) return;
  closeInspect();
  const body = el('div', { class: 'inspect-body' });
  const tabs = [['data', 'Data'], ['query', 'Query'], ['json', 'Panel JSON']];
  const show = (t) => {
    clear(body);
    for (const b of bar.querySelectorAll('button')) b.setAttribute('aria-selected', String(b.dataset.tab === t));
    if (t === 'data') body.append(...[dataTab(d)].flat());
    else if (t === 'query') body.append(...queryTab(d).flat().filter(Boolean));
    else body.append(el('pre', { class: 'sql-text', tabindex: 0 }, JSON.stringify(d.panel, (k, v) => (k.startsWith('_') ? undefined : v), 2)));
  };
  const bar = el('div', { class: 'tabs', role: 'tablist' }, tabs.map(([t, label]) => {
    const b = el('button', { type: 'button', role: 'tab', 'data-tab': t }, label);
    b.addEventListener('click', () => show(t));
    return b;
  }));
  const close = el('button', { type: 'button', class: 'inspect-close', 'aria-label': 'Close' }, '×');
  close.addEventListener('click', closeInspect);
  open = el('dialog', { class: 'inspect', id: 'inspect', 'aria-label': `Inspect: ${d.panel.title || id}` },
    el('div', { class: 'bar' }, el('h2', {}, `Inspect: ${d.panel.title || id}`), close), bar, body);
  open.addEventListener('close', () => { if (open) { open.remove(); open = null; } });
  open.addEventListener('keydown', (e) => { if (e.key === 'Escape') { e.preventDefault(); closeInspect(); } });
  document.body.append(open);
  open.showModal();
  show(tab || 'data');
}

/* The ⋮ menu of a panel's header. onView toggles the full-screen view. */
function panelMenu(id, title, onView) {
  const btn = el('button', { type: 'button', class: 'panel-menu-btn', 'aria-haspopup': 'menu', 'aria-expanded': 'false', 'aria-label': `Menu of panel ${title || id}` }, '⋮');
  const items = [
    ['View', 'v', () => onView(id)], ['Inspect data', 'i', () => inspect(id, 'data')],
    ['Inspect query', 'e', () => inspect(id, 'query')], ['Panel JSON', '', () => inspect(id, 'json')],
    ['Download CSV', '', () => { const d = drawnBy.get(String(id)); if (!d) return; d.frames.forEach((fr, k) => { const { header, rows } = frameRows(fr, d.frames); downloadText(`${(d.panel.title || 'panel').replace(/[^\w.-]+/g, '_')}-${fr.refId || k}.csv`, csvText(header, rows)); }); }],
  ];
  const menu = el('div', { class: 'panel-menu', role: 'menu', hidden: true });
  const hide = () => { menu.hidden = true; btn.setAttribute('aria-expanded', 'false'); };
  for (const [label, key, fn] of items) {
    const it = el('button', { type: 'button', role: 'menuitem' }, label, key ? el('kbd', {}, key) : null);
    it.addEventListener('click', () => { hide(); fn(); });
    menu.append(it);
  }
  btn.addEventListener('click', () => {
    menu.hidden = !menu.hidden;
    btn.setAttribute('aria-expanded', String(!menu.hidden));
    if (!menu.hidden) menu.querySelector('button').focus();
  });
  menu.addEventListener('keydown', (e) => {
    const all = [...menu.querySelectorAll('button')];
    const i = all.indexOf(document.activeElement);
    if (e.key === 'Escape') { hide(); btn.focus(); e.stopPropagation(); }
    else if (e.key === 'ArrowDown') { e.preventDefault(); all[(i + 1) % all.length].focus(); }
    else if (e.key === 'ArrowUp') { e.preventDefault(); all[(i - 1 + all.length) % all.length].focus(); }
  });
  menu.addEventListener('focusout', (e) => { if (!menu.contains(e.relatedTarget) && e.relatedTarget !== btn) hide(); });
  return el('span', { class: 'panel-menu-wrap' }, btn, menu);
}

/* Grafana's panel keys over the panel under the pointer or the focus:
 * v view, i inspect, e the query; Escape leaves the view. Returns the
 * function that removes them. */
function panelKeys(onView, onEscape) {
  let hovered = null;
  const over = (e) => { const p = e.target.closest && e.target.closest('.panel'); if (p) hovered = p.dataset.panel; };
  const key = (e) => {
    if (e.ctrlKey || e.metaKey || e.altKey || /^(INPUT|SELECT|TEXTAREA)$/.test(document.activeElement.tagName) || open) return;
    const focused = document.activeElement.closest && document.activeElement.closest('.panel');
    const id = (focused && focused.dataset.panel) || hovered;
    if (e.key === 'Escape') { onEscape(); return; }
    if (!id) return;
    if (e.key === 'v') onView(id);
    else if (e.key === 'i') inspect(id, 'data');
    else if (e.key === 'e') inspect(id, 'query');
  };
  document.addEventListener('mouseover', over);
  document.addEventListener('keydown', key);
  return () => { document.removeEventListener('mouseover', over); document.removeEventListener('keydown', key); closeInspect(); };
}

export { closeInspect, drawn, forget, inspect, panelKeys, panelMenu };
