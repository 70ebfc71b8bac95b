/* page_dashboard.js: the dashboards room: the list, a dashboard on the
 * 24-column grid, its time range, refresh and variables in the URL (as
 * Grafana's: from, to, refresh, var-NAME), rows that open. */
import { clear, el, errorBox } from './dom.js';
import { api } from './api.js';
import { onLeave } from './nav.js';
import { DRAW, charts, drawText, interpolateText, noData, timeCharts } from './panels.js';
import { toFrame, transform } from './frames.js';
import { formatTime, fromWall, setTimeZone } from './format.js';
import { migratePanel } from './migrate.js';
import { drawn, forget, panelKeys, panelMenu } from './inspect.js';
import { linkList, safeUrl } from './links.js';

/* ---- a dashboard ------------------------------------------------------------------------- */

/* The URL's state the server reads: var-NAME, from, to. */
function urlVars() {
  const q = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const [k, v] of q) if (k.startsWith('var-') || k === 'from' || k === 'to') out.append(k, v);
  return out;
}

function setUrl(changes) {
  const p = new URLSearchParams(location.search);
  for (const [k, v] of Object.entries(changes)) {
    p.delete(k);
    for (const x of [].concat(v)) if (x !== null && x !== undefined && x !== '') p.append(k, x);
  }
  history.pushState(null, '', `${location.pathname}?${p}`);
}

async function showDashboardList(m) {
  const j = await api('/api/dashboards');
  m.append(el('h1', {}, 'Dashboards'));
  if (!j.dashboards.length) m.append(el('p', { class: 'muted' }, 'No dashboards: put Grafana dashboard JSON files in project/dashboards/ or give --dashboards DIR.'));
  m.append(el('ul', { class: 'dash-list' }, j.dashboards.map((d) => (d.error
    ? el('li', { class: 'dash-refused' }, el('span', {}, d.file), el('span', { class: 'error' }, ` not shown: ${d.error}`))
    : el('li', {},
      el('a', { href: `/d/${encodeURIComponent(d.uid)}`, 'data-nav': true }, d.title),
      (d.tags || []).map((t) => el('span', { class: 'tag' }, t)),
      el('span', { class: 'muted' }, `  ${d.file}`))))));
}

/* ---- the time range and refresh, as Grafana's pickers ------------------------------------------ */

const QUICK = [
  ['now-5m', 'now', 'Last 5 minutes'], ['now-15m', 'now', 'Last 15 minutes'], ['now-30m', 'now', 'Last 30 minutes'],
  ['now-1h', 'now', 'Last 1 hour'], ['now-3h', 'now', 'Last 3 hours'], ['now-6h', 'now', 'Last 6 hours'],
  ['now-12h', 'now', 'Last 12 hours'], ['now-24h', 'now', 'Last 24 hours'], ['now-2d', 'now', 'Last 2 days'],
  ['now-7d', 'now', 'Last 7 days'], ['now-30d', 'now', 'Last 30 days'], ['now-90d', 'now', 'Last 90 days'],
  ['now-6M', 'now', 'Last 6 months'], ['now-1y', 'now', 'Last 1 year'], ['now-2y', 'now', 'Last 2 years'],
  ['now-5y', 'now', 'Last 5 years'], ['now-1d/d', 'now-1d/d', 'Yesterday'], ['now/d', 'now/d', 'Today'],
  ['now/d', 'now', 'Today so far'], ['now/w', 'now/w', 'This week'], ['now/w', 'now', 'This week so far'],
  ['now/M', 'now/M', 'This month'], ['now/M', 'now', 'This month so far'], ['now/y', 'now/y', 'This year'],
  ['now/y', 'now', 'This year so far'], ['now-1w/w', 'now-1w/w', 'Previous week'],
  ['now-1M/M', 'now-1M/M', 'Previous month'], ['now-1y/y', 'now-1y/y', 'Previous year'],
];
const REFRESH = ['5s', '10s', '30s', '1m', '5m', '15m', '30m', '1h', '2h', '1d'];

function intervalMs(s) {
  const m = /^(\d+)(ms|s|m|h|d|w)$/.exec(String(s || ''));
  if (!m) return 0;
  return Number(m[1]) * { ms: 1, s: 1000, m: 60000, h: 3600000, d: 86400000, w: 604800000 }[m[2]];
}

/* A range end as the URL holds it, for the picker: epoch ms as a date. */
function showEnd(v) { return /^\d{10,}$/.test(v) ? formatTime(Number(v), 'YYYY-MM-DD HH:mm:ss') : v; }
function urlEnd(v) {
  const t = v.trim();
  const m = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d))?)?$/.exec(t);
  /* a date typed in is in the dashboard's zone, as in Grafana's picker */
  return m ? String(fromWall(+m[1], +m[2], +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0))) : t;
}

/* The time bar: quick ranges, an absolute or relative from/to, the
 * refresh interval and a refresh button. */
function timeBar(dash, range, onRange, onRefreshNow, onRefreshEvery, zoneName) {
  const q = new URLSearchParams(location.search);
  const from = q.get('from') || (dash.time && dash.time.from) || 'now-6h';
  const to = q.get('to') || (dash.time && dash.time.to) || 'now';
  const hit = QUICK.find(([f, t]) => f === from && t === to);
  const quick = el('select', { id: 'time-quick', 'aria-label': 'Time range' },
    el('option', { value: '', selected: !hit }, hit ? 'Custom range' : `${showEnd(from)} to ${showEnd(to)}`),
    QUICK.map(([f, t, label]) => el('option', { value: `${f}|${t}`, selected: hit && hit[2] === label }, label)));
  quick.addEventListener('change', () => { if (quick.value) { const [f, t] = quick.value.split('|'); onRange(f, t); } });
  const fromIn = el('input', { id: 'time-from', type: 'text', value: showEnd(from), size: 19, 'aria-label': 'From (now-6h, now/d, 2024-01-31 10:00:00)' });
  const toIn = el('input', { id: 'time-to', type: 'text', value: showEnd(to), size: 19, 'aria-label': 'To' });
  const apply = el('button', { type: 'button', id: 'time-apply' }, 'Apply');
  apply.addEventListener('click', () => onRange(urlEnd(fromIn.value), urlEnd(toIn.value)));
  for (const i of [fromIn, toIn]) i.addEventListener('keydown', (e) => { if (e.key === 'Enter') apply.click(); });
  const every = q.get('refresh') ?? dash.refresh ?? '';
  const refresh = el('select', { id: 'refresh-every', 'aria-label': 'Auto-refresh' },
    el('option', { value: '', selected: !every }, 'Off'),
    [...new Set([...REFRESH, ...(every ? [every] : [])])].map((r) => el('option', { value: r, selected: r === every }, r)));
  refresh.addEventListener('change', () => onRefreshEvery(refresh.value));
  const now = el('button', { type: 'button', id: 'refresh-now', 'aria-label': 'Refresh the dashboard', title: 'Refresh' }, '↻');
  now.addEventListener('click', onRefreshNow);
  const span = el('span', { class: 'muted range-shown', id: 'range-shown' },
    `${formatTime(range.from, 'YYYY-MM-DD HH:mm:ss')} to ${formatTime(range.to, 'YYYY-MM-DD HH:mm:ss')} ${zoneName}`);
  return el('div', { class: 'timebar', role: 'group', 'aria-label': 'Time range and refresh' }, quick, fromIn, el('span', { class: 'muted' }, 'to'), toIn, apply, span, refresh, now);
}

/* The variable bar: dropdowns (multi, All) and text boxes; a change goes
 * into the URL (?var-country=...) and redraws. */
function variableBar(dash, resolved, onChange) {
  const bar = el('div', { class: 'vars' });
  const list = (dash.templating && dash.templating.list) || [];
  const byName = new Map(resolved.map((v) => [v.name, v]));
  const fromUrl = urlVars();
  for (const v of list) {
    const r = byName.get(v.name);
    if (!r || v.type === 'constant' || v.type === 'adhoc' || v.hide === 2) continue;
    const id = `var-${v.name}`;
    const label = v.hide === 1 ? null : el('label', { for: id }, v.label || v.name);
    let input;
    if (v.type === 'textbox') {
      input = el('input', { id, type: 'text', value: r.current[0] ?? '', 'data-var': v.name });
      input.addEventListener('change', () => onChange(v.name, [input.value]));
    } else {
      const urlSel = fromUrl.getAll(id);
      const cur = v.current && v.current.value;
      const all = (urlSel.length ? urlSel : Array.isArray(cur) ? cur : [cur]).some((x) => x === '$__all' || x === 'All');
      const chosen = new Set(all ? ['$__all'] : r.current);
      input = el('select', { id, multiple: !!v.multi, 'data-var': v.name });
      if (v.includeAll) input.append(el('option', { value: '$__all', selected: chosen.has('$__all') }, 'All'));
      for (const o of r.options) input.append(el('option', { value: o, selected: !all && chosen.has(o) }, o));
      input.addEventListener('change', () => onChange(v.name, [...input.selectedOptions].map((o) => o.value)));
    }
    bar.append(el('div', { class: 'var' }, label, input));
  }
  return bar;
}

/* Panels in Grafana's 24-column grid; a collapsed row holds its panels and
 * opening it pushes the panels below it down. */
/* Panels without a gridPos (hand-written files) flow left to right below
 * the placed ones, 12 columns wide (a Grafana 4 span counts double). */
function placeAll(panels) {
  let bottom = 0;
  for (const p of panels) if (p.gridPos) bottom = Math.max(bottom, (p.gridPos.y || 0) + (p.gridPos.h || 8));
  let x = 0, y = bottom, rowH = 0;
  return panels.map((p) => {
    if (p.gridPos) return p;
    const w = Math.min(24, p.type === 'row' ? 24 : p.span ? p.span * 2 : 12), h = p.type === 'row' ? 1 : 8;
    if (x + w > 24) { x = 0; y += rowH; rowH = 0; }
    const out = Object.assign({}, p, { gridPos: { x, y, w, h } });
    x += w;
    rowH = Math.max(rowH, h);
    return out;
  });
}

/* ---- repeated rows and panels ------------------------------------------------------------ */

const gy = (p) => (p.gridPos || {}).y || 0;
const moved = (p, dy, extra) => Object.assign({}, p, extra, { gridPos: Object.assign({}, p.gridPos, { y: gy(p) + dy }) });

/* A panel repeated for each value of its variable: side by side (h, at
 * most maxPerRow, default 4, a row) or stacked (v). Returns the copies and
 * the height they add. */
function repeatPanel(p, values) {
  const g = Object.assign({ x: 0, y: 0, w: 12, h: 8 }, p.gridPos);
  const n = values.length;
  const name = p.repeat;
  const copy = (k, gridPos) => Object.assign({}, p, { gridPos, _scoped: { name, value: values[k] }, _key: k ? `${p.id}-${k}` : String(p.id) });
  if (p.repeatDirection === 'v') {
    return { panels: values.map((v, k) => copy(k, Object.assign({}, g, { y: g.y + k * g.h }))), extra: (n - 1) * g.h };
  }
  const per = Math.max(1, Math.min(n, p.maxPerRow || 4));
  const w = Math.max(1, Math.floor(24 / per));
  return { panels: values.map((v, k) => copy(k, { x: (k % per) * w, y: g.y + Math.floor(k / per) * g.h, w, h: g.h })), extra: (Math.ceil(n / per) - 1) * g.h };
}

/* Rows and panels with "repeat" expanded over their variable's values
 * (as Grafana does when it loads a dashboard); panels below move down. */
function expandRepeats(panels, values) {
  const sorted = [...panels].sort((a, b) => gy(a) - gy(b));
  const out = [];
  let shift = 0;
  for (let i = 0; i < sorted.length; i++) {
    const p = moved(sorted[i], shift);
    const vals = p.repeat ? values(p.repeat) : [];
    if (p.type === 'row' && vals.length > 1) {
      const next = sorted.slice(i + 1).findIndex((x) => x.type === 'row');
      const section = p.collapsed ? [] : sorted.slice(i + 1, next < 0 ? sorted.length : i + 1 + next).map((x) => moved(x, shift));
      const h = p.collapsed ? 1 : (next < 0 ? Math.max(1, ...section.map((x) => gy(x) + ((x.gridPos || {}).h || 8))) - gy(p) : gy(sorted[i + 1 + next]) + shift - gy(p));
      vals.forEach((v, k) => {
        const sc = { _scoped: { name: p.repeat, value: v } };
        out.push(moved(p, k * h, Object.assign({ _key: k ? `${p.id}-${k}` : String(p.id), panels: (p.panels || []).map((c) => moved(c, k * h, sc)) }, sc)));
        for (const c of section) out.push(moved(c, k * h, Object.assign({ _key: k ? `${c.id}-r${k}` : String(c.id) }, sc)));
      });
      i += section.length;
      shift += (vals.length - 1) * h;
      continue;
    }
    if (p.type !== 'row' && vals.length > 0) {
      const r = repeatPanel(p, vals);
      out.push(...r.panels);
      shift += r.extra;
      continue;
    }
    if (p.type === 'row' && p.panels) {
      const inner = [];
      for (const c of p.panels) {
        const cv = c.repeat ? values(c.repeat) : [];
        if (cv.length) inner.push(...repeatPanel(c, cv).panels);
        else inner.push(c);
      }
      out.push(Object.assign({}, p, { panels: inner }));
      continue;
    }
    out.push(p);
  }
  return out;
}

/* Grafana's grid (react-grid-layout, vertical compaction): each panel
 * rises as far as the ones above it allow and never overlaps another. */
function compact(items) {
  const placed = [];
  const hit = (g) => placed.find((o) => g.x < o.x + o.w && o.x < g.x + g.w && g.y < o.y + o.h && o.y < g.y + g.h);
  for (const it of [...items].sort((a, b) => a.g.y - b.g.y || a.g.x - b.g.x)) {
    const g = it.g;
    while (g.y > 0 && !hit(Object.assign({}, g, { y: g.y - 1 }))) g.y--;
    let c;
    while ((c = hit(g))) g.y = c.y + c.h;
    placed.push(g);
  }
  return items;
}

function layout(dash, open, values) {
  const top = expandRepeats(placeAll(dash.panels || []), values).sort((a, b) => ((a.gridPos || {}).y || 0) - ((b.gridPos || {}).y || 0));
  const out = [];
  let shift = 0;
  for (const p of top) {
    const g = Object.assign({ x: 0, y: 0, w: 12, h: 8 }, p.gridPos);
    out.push({ p, g: Object.assign({}, g, { y: g.y + shift }) });
    if (p.type === 'row' && p.collapsed && open.has(p._key || String(p.id))) {
      let bottom = g.y + 1;
      for (const c of p.panels || []) {
        const cg = Object.assign({ x: 0, y: g.y + 1, w: 12, h: 8 }, c.gridPos);
        out.push({ p: c, g: Object.assign({}, cg, { y: cg.y + shift }) });
        bottom = Math.max(bottom, cg.y + cg.h);
      }
      shift += bottom - (g.y + 1);
    }
  }
  return compact(out);
}

async function showDashboard(uid, m) {
  const openRows = new Set();
  let seq = 0;
  let timer = null;
  const every = (r) => {
    if (timer) clearInterval(timer);
    timer = null;
    const ms = intervalMs(r);
    if (ms) timer = setInterval(() => draw().catch(() => {}), Math.max(ms, 5000));
  };
  const draw = async () => {
    const my = ++seq;
    const q = urlVars().toString();
    const j = await api(`/api/dashboards/${encodeURIComponent(uid)}${q ? `?${q}` : ''}`);
    if (my !== seq) return;
    for (const c of charts) c.destroy();
    charts.clear();
    timeCharts.clear();
    const dash = j.dashboard;
    const zoneName = setTimeZone(dash.timezone);
    const vals = Object.fromEntries(j.variables.map((v) => [v.name, v.current]));
    document.title = `${dash.title || uid} · bookpipe`;
    clear(m);
    m.dataset.ready = '';
    m.append(el('h1', {}, dash.title || uid));
    const redraw = () => draw().catch((e) => m.append(errorBox(e.message)));
    m.append(timeBar(dash, j.range, (from, to) => { setUrl({ from, to }); redraw(); }, redraw,
      (r) => { setUrl({ refresh: r }); every(r); }, zoneName));
    m.append(variableBar(dash, j.variables, (name, values) => { setUrl({ [`var-${name}`]: values }); redraw(); }));
    const view = new URLSearchParams(location.search).get('viewPanel');
    const grid = el('div', { class: view ? 'grid viewing' : 'grid', id: 'grid' });
    if (view) {
      const back = el('button', { type: 'button', id: 'view-back' }, '← Back to the dashboard (Esc)');
      back.addEventListener('click', () => onView(view));
      m.append(back);
    }
    m.append(grid);
    forget();
    const values = (name) => vals[name] || [];
    let items = layout(dash, openRows, values);
    if (view) {
      const all = items.flatMap((it) => [it, ...(it.p.type === 'row' ? (it.p.panels || []).map((c) => ({ p: c, g: c.gridPos })) : [])]);
      const hit = all.find((it) => (it.p._key || String(it.p.id)) === view && it.p.type !== 'row');
      items = hit ? [{ p: hit.p, g: { x: 0, y: 0, w: 24, h: 24 } }] : [];
    }
    const jobs = [];
    for (const { p, g } of items) {
      const place = (node) => {
        node.style.gridColumn = `${g.x + 1} / span ${Math.max(1, Math.min(24, g.w))}`;
        node.style.gridRow = `${g.y + 1} / span ${Math.max(1, g.h)}`;
        grid.append(node);
      };
      const key = p._key || String(p.id);
      const scoped = p._scoped ? Object.assign({}, vals, { [p._scoped.name]: [p._scoped.value] }) : vals;
      if (p.type === 'row') {
        const label = interpolateText(p.title || '', scoped);
        const head = el(p.collapsed ? 'button' : 'div', { class: 'row-head', 'data-panel': key, type: p.collapsed ? 'button' : null,
          'aria-expanded': p.collapsed ? String(openRows.has(key)) : null },
        p.collapsed ? (openRows.has(key) ? '▾ ' : '▸ ') : '', label);
        if (p.collapsed) head.addEventListener('click', () => { openRows.has(key) ? openRows.delete(key) : openRows.add(key); redraw(); });
        place(head);
        continue;
      }
      const body = el('div', { class: 'panel-body' });
      const title = interpolateText(p.title || '', scoped);
      const node = el('section', { class: 'panel', 'data-panel': key, 'data-type': p.type, 'aria-label': title || `panel ${key}`, tabindex: -1 },
        el('div', { class: 'panel-title', title: p.description || null }, el('h2', {}, title), timeNote(p),
          linkList(p.links, scoped, j.range), panelMenu(key, title, onView)), body);
      place(node);
      let pq = q;
      if (p._scoped) {
        const u = new URLSearchParams(q);
        u.delete(`var-${p._scoped.name}`);
        u.append(`var-${p._scoped.name}`, p._scoped.value);
        pq = u.toString();
      }
      jobs.push(fillPanel(uid, Object.assign({ _graphTooltip: dash.graphTooltip || 0 }, p), key, body, node, scoped, pq, () => my === seq));
    }
    await Promise.all(jobs);
    if (my === seq) m.dataset.ready = String(my);
  };
  /* v on a panel: it alone, full size, in the URL as Grafana's viewPanel */
  const onView = (id) => {
    const cur = new URLSearchParams(location.search).get('viewPanel');
    setUrl({ viewPanel: cur === String(id) ? null : String(id) });
    draw().catch((e) => m.append(errorBox(e.message)));
  };
  const unkey = panelKeys(onView, () => { if (new URLSearchParams(location.search).get('viewPanel')) onView(new URLSearchParams(location.search).get('viewPanel')); });
  onLeave(() => { seq++; unkey(); if (timer) clearInterval(timer); for (const c of charts) c.destroy(); charts.clear(); });
  await draw();
  const q = new URLSearchParams(location.search);
  every(q.get('refresh') ?? '');
}

/* The header note Grafana shows for a panel's own range. */
function timeNote(p) {
  if (p.hideTimeOverride || (!p.timeFrom && !p.timeShift)) return null;
  const parts = [];
  if (p.timeFrom) parts.push(/^now/.test(p.timeFrom) ? p.timeFrom : `Last ${p.timeFrom}`);
  if (p.timeShift) parts.push(`timeshift -${p.timeShift}`);
  return el('span', { class: 'panel-time muted' }, parts.join(' '));
}

async function fillPanel(uid, raw, key, body, node, vals, q, current) {
  const p = migratePanel(raw);
  if (p.type === 'text') { drawText(p, body, vals); node.dataset.state = 'done'; return; }
  const fn = DRAW[p.type];
  if (!fn) { body.append(el('div', { class: 'muted' }, `Panel type "${p.type}" is not drawn here.`)); node.dataset.state = 'done'; return; }
  node.dataset.state = 'loading';
  const spinner = el('div', { class: 'loading', role: 'status' }, 'Loading…');
  body.append(spinner);
  /* Grafana's resolution: the panel's width in pixels, unless it sets maxDataPoints */
  const width = Math.max(100, Math.round(body.clientWidth || 600));
  const sep = q ? '&' : '';
  try {
    const j = await api(`/api/dashboards/${encodeURIComponent(uid)}/panels/${p.id}/query?${q}${sep}maxDataPoints=${width}`);
    if (!current()) return;
    spinner.remove();
    const frames = j.frames.map((f) => (f.error ? f : toFrame(f, j.range)));
    const bad = frames.filter((f) => f.error);
    const warnings = [];
    const good = transform(frames.filter((f) => !f.error), p.transformations, warnings);
    for (const f of bad) body.append(el('div', { class: 'panel-error', role: 'alert' }, `${f.refId}: ${f.error}`));
    for (const w of warnings) body.append(el('div', { class: 'muted panel-warning' }, w));
    if (good.length) fn(p, good, body, j.range, vals);
    else if (!bad.length) noData(body);
    drawn(key, p, good, j);
    node.dataset.state = bad.length ? 'error' : 'done';
  } catch (e) {
    spinner.remove();
    body.append(el('div', { class: 'panel-error', role: 'alert' }, e.message));
    node.dataset.state = 'error';
  }
}

export { showDashboard, showDashboardList };
