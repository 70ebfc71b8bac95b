/* app.js: the pages of `bookpipe serve`, drawn from the JSON API.
 *
 * Three rooms: Grafana-style dashboards (/d/UID), the pipeline's DAG and
 * runs (/pipeline), and a read-only SQL explorer (/explore). Every data
 * value reaches the page as text (textContent, never innerHTML), so a book
 * titled "<script>" shows as those characters. */
'use strict';

/* ---- small helpers ------------------------------------------------------------------ */

/* el('div', {class: 'x'}, 'text', child): an element; strings become text. */
function el(tag, attrs, ...kids) {
  const e = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

class ApiError extends Error {
  constructor(status, msg) { super(msg); this.status = status; }
}

/* The API: JSON both ways; POSTs carry the CSRF header the server wants. */
async function api(path, body) {
  const opts = { credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opts.method = 'POST';
    opts.headers['Content-Type'] = 'application/json';
    opts.headers['X-Bookpipe-CSRF'] = '1';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (!r.ok) throw new ApiError(r.status, (j && j.error) || `HTTP ${r.status}`);
  return j;
}

function errorBox(msg) { return el('div', { class: 'box-error error' }, msg); }

/* "2026-11-25 06:01:02.123" (UTC, as the history stores it) to a Date. */
function utc(ts) {
  if (!ts) return null;
  const d = new Date(ts.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? '' : 'Z'));
  return isNaN(d) ? null : d;
}

function duration(a, b) {
  const s = utc(a), e = utc(b);
  if (!s || !e) return '';
  const sec = (e - s) / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 2 : 1)} s`;
  return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
}

function localTime(ts) {
  const d = utc(ts);
  return d ? d.toLocaleString() : '';
}

function statusBadge(st) { return el('span', { class: `status st-${st || 'none'}` }, st || 'never run'); }

/* ---- routing -------------------------------------------------------------------------- */

const main = () => document.getElementById('main');
let leaveRoom = null;   /* stops the current room's timers and charts */

function go(url) {
  history.pushState(null, '', url);
  route();
}

async function route() {
  if (leaveRoom) { leaveRoom(); leaveRoom = null; }
  const p = location.pathname;
  const room = p.startsWith('/pipeline') ? 'pipeline'
    : p.startsWith('/explore') ? 'explore' : 'dashboards';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.room === room);
  const m = clear(main());
  try {
    if (p.startsWith('/d/')) await showDashboard(decodeURIComponent(p.slice(3).split('/')[0]), m);
    else if (room === 'pipeline') await showPipeline(m, p.match(/^\/pipeline\/runs\/(\d+)/));
    else if (room === 'explore') await showExplore(m);
    else await showDashboardList(m);
  } catch (e) {
    m.append(errorBox(e.message));
  }
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[data-nav]');
  if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  ev.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', route);

async function showHealth() {
  const h = document.getElementById('health');
  try {
    const j = await api('/api/health');
    h.textContent = `${j.target} · ${j.schema} · bookpipe ${j.version}`;
  } catch (e) {
    h.textContent = e.message;
  }
}

/* ---- formatting values as Grafana does ---------------------------------------------- */

const NAMED = {
  green: '#73bf69', 'semi-dark-green': '#56a64b', 'dark-green': '#37872d', 'light-green': '#96d98d',
  red: '#f2495c', 'semi-dark-red': '#e02f44', 'dark-red': '#c4162a', 'light-red': '#ff7383',
  yellow: '#fade2a', 'semi-dark-yellow': '#f2cc0c', 'dark-yellow': '#e0b400', 'light-yellow': '#ffee52',
  orange: '#ff9830', 'semi-dark-orange': '#ff780a', 'dark-orange': '#fa6400', 'light-orange': '#ffb357',
  blue: '#5794f2', 'semi-dark-blue': '#3274d9', 'dark-blue': '#1f60c4', 'light-blue': '#8ab8ff',
  purple: '#b877d9', 'semi-dark-purple': '#a352cc', 'dark-purple': '#8f3bb8', 'light-purple': '#ca95e5',
  text: '#ccccdc', transparent: 'rgba(0,0,0,0)',
};
const PALETTE = ['#73bf69', '#f2cc0c', '#8ab8ff', '#ff780a', '#f2495c', '#5794f2', '#b877d9',
  '#705da0', '#37872d', '#fade2a', '#447ebc', '#c15c17', '#890f02', '#0a437c', '#6d1f62'];

function color(c) { return (c && NAMED[c]) || c || PALETTE[0]; }

/* A field's config: the panel's defaults with the overrides matching it
 * (byName, byRegexp, byType) applied on top. */
function fieldConfig(panel, name, numeric) {
  const fc = panel.fieldConfig || {};
  const cfg = JSON.parse(JSON.stringify(fc.defaults || {}));
  cfg.custom = cfg.custom || {};
  for (const o of fc.overrides || []) {
    const m = o.matcher || {};
    let hit = false;
    if (m.id === 'byName') hit = m.options === name;
    else if (m.id === 'byRegexp') { try { hit = new RegExp(m.options).test(name); } catch (e) { hit = false; } }
    else if (m.id === 'byType') hit = (m.options === 'number') === numeric;
    if (!hit) continue;
    for (const p of o.properties || []) {
      const path = String(p.id).split('.');
      let t = cfg;
      for (const k of path.slice(0, -1)) t = t[k] = t[k] || {};
      t[path[path.length - 1]] = p.value;
    }
  }
  return cfg;
}

/* custom.hideFrom.viz: a field the query returns but the chart leaves out */
function hiddenFromViz(panel, f) {
  const h = fieldConfig(panel, f.name, f.numeric).custom.hideFrom;
  return !!(h && h.viz);
}

function displayName(cfg, name) { return cfg.displayName || name; }

const SI = [[1e12, ' T'], [1e9, ' B'], [1e6, ' M'], [1e3, ' K']];
const SHORT = [[1e12, ' Tri'], [1e9, ' Bil'], [1e6, ' Mil'], [1e3, ' K']];

function fixed(v, decimals) {
  if (decimals !== undefined && decimals !== null) return v.toFixed(decimals);
  if (Number.isInteger(v)) return String(v);
  const a = Math.abs(v);
  return v.toFixed(a >= 100 ? 1 : a >= 1 ? 2 : 3).replace(/\.?0+$/, '');
}

function scaled(v, steps, decimals, base) {
  for (const [n, suf] of steps) if (Math.abs(v) >= n) return fixed(v / n, decimals ?? 2).replace(/\.?0+$/, '') + suf;
  return fixed(v, decimals) + (base || '');
}

function bytes(v, k, names, decimals) {
  let i = 0;
  while (Math.abs(v) >= k && i < names.length - 1) { v /= k; i++; }
  return `${fixed(v, decimals ?? (i ? 1 : 0))} ${names[i]}`;
}

/* A value (text from the API) shown with the field's unit and decimals. */
function formatValue(raw, cfg, numeric) {
  if (raw === null || raw === undefined) return 'null';
  const v = Number(raw);
  if (!numeric || raw === '' || Number.isNaN(v)) return String(raw);
  const d = cfg.decimals;
  const u = cfg.unit || '';
  if (u.startsWith('prefix:')) return u.slice(7) + fixed(v, d);
  if (u.startsWith('suffix:')) return fixed(v, d) + u.slice(7);
  switch (u) {
    case 'percent': return `${fixed(v, d)}%`;
    case 'percentunit': return `${fixed(v * 100, d)}%`;
    case 'short': return scaled(v, SHORT, d);
    case 'si': return scaled(v, SI, d);
    case 'none': return fixed(v, d);
    case 'ms': return v >= 1000 ? `${fixed(v / 1000, d ?? 2)} s` : `${fixed(v, d)} ms`;
    case 's': return v >= 3600 ? `${fixed(v / 3600, d ?? 1)} hour` : v >= 60 ? `${fixed(v / 60, d ?? 1)} min` : `${fixed(v, d)} s`;
    case 'bytes': return bytes(v, 1024, ['B', 'KiB', 'MiB', 'GiB', 'TiB'], d);
    case 'decbytes': return bytes(v, 1000, ['B', 'kB', 'MB', 'GB', 'TB'], d);
    case 'currencyUSD': return `$${fixed(v, d ?? 2)}`;
    case 'currencyEUR': return `€${fixed(v, d ?? 2)}`;
    case 'currencyGBP': return `£${fixed(v, d ?? 2)}`;
    case 'locale': return v.toLocaleString(undefined, d != null ? { minimumFractionDigits: d, maximumFractionDigits: d } : {});
    case 'dateTimeAsIso': return new Date(v).toISOString();
    default:
      return fixed(v, d);
  }
}

/* The colour a value gets: thresholds (absolute or percent of min..max),
 * a fixed colour, or the classic palette by series index. */
function valueColor(cfg, v, index) {
  const c = cfg.color || { mode: 'thresholds' };
  if (c.mode === 'fixed' || c.mode === 'shades') return color(c.fixedColor);
  if (c.mode && c.mode.startsWith('palette')) return PALETTE[(index || 0) % PALETTE.length];
  const th = cfg.thresholds || { mode: 'absolute', steps: [{ color: 'green', value: null }, { color: 'red', value: 80 }] };
  let x = Number(v);
  if (th.mode === 'percentage') {
    const min = cfg.min ?? 0, max = cfg.max ?? 100;
    x = max > min ? ((x - min) / (max - min)) * 100 : 0;
  }
  let pick = (th.steps && th.steps[0] && th.steps[0].color) || 'green';
  for (const s of th.steps || []) if (s.value === null || s.value === undefined || x >= s.value) pick = s.color;
  return color(pick);
}

/* ---- frames: what a panel query returns ---------------------------------------------- */

/* {columns:[{name, numeric}], rows:[[text]]} to fields [{name, numeric, values}]. */
function fields(frame) {
  return (frame.columns || []).map((c, i) => ({
    name: c.name, numeric: c.numeric,
    values: (frame.rows || []).map((r) => (c.numeric && r[i] !== null ? Number(r[i]) : r[i])),
  }));
}

function reduce(values, calc) {
  const nums = values.filter((v) => v !== null && v !== undefined && !Number.isNaN(v));
  if (!nums.length) return null;
  switch (calc) {
    case 'first': case 'firstNotNull': return nums[0];
    case 'sum': return nums.reduce((a, b) => a + b, 0);
    case 'mean': return nums.reduce((a, b) => a + b, 0) / nums.length;
    case 'max': return Math.max(...nums);
    case 'min': return Math.min(...nums);
    case 'count': return nums.length;
    default: return nums[nums.length - 1]; /* lastNotNull, last */
  }
}

/* Name/value pairs a stat, gauge, bar gauge or pie shows: one per row when
 * the panel shows all values (or a frame is a label column plus numbers),
 * else one per numeric field, reduced. */
function pairs(panel, frames) {
  const ro = (panel.options && panel.options.reduceOptions) || {};
  const calc = (ro.calcs && ro.calcs[0]) || 'lastNotNull';
  const out = [];
  for (const f of frames) {
    const fs = fields(f);
    const label = fs.find((x) => !x.numeric);
    const nums = fs.filter((x) => x.numeric);
    const perRow = ro.values === true || (ro.values === undefined && label && nums.length && panel.type !== 'stat' && panel.type !== 'gauge');
    for (const n of nums) {
      const cfg = fieldConfig(panel, n.name, true);
      if (perRow) {
        n.values.forEach((v, i) => out.push({ name: label ? String(label.values[i]) : displayName(cfg, n.name), value: v, cfg }));
      } else {
        out.push({ name: displayName(cfg, n.name), value: reduce(n.values, calc), cfg });
      }
    }
  }
  const limit = ro.limit;
  return limit ? out.slice(0, limit) : out;
}

/* ---- panels ------------------------------------------------------------------------------ */

const charts = new Set();

function chartOn(box, config) {
  const canvas = el('canvas');
  box.append(el('div', { class: 'chart-box' }, canvas));
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
  const c = new Chart(canvas, config);
  charts.add(c);
  return c;
}

function legendOpts(panel, series) {
  const lg = (panel.options && panel.options.legend) || {};
  const show = lg.showLegend !== false && lg.displayMode !== 'hidden' && series > 1;
  return { display: show, position: lg.placement === 'right' ? 'right' : 'bottom' };
}

function drawStat(panel, frames, body) {
  const ps = pairs(panel, frames);
  const mode = (panel.options && panel.options.colorMode) || 'value';
  const box = el('div', { class: 'stats' });
  ps.forEach((p, i) => {
    const c = valueColor(p.cfg, p.value, i);
    const s = el('div', { class: `stat${mode === 'background' ? ' bg' : ''}` },
      el('div', { class: 'stat-value' }, formatValue(p.value, p.cfg, true)),
      ps.length > 1 ? el('div', { class: 'stat-name' }, p.name) : null);
    if (mode === 'background') s.style.background = c;
    else if (mode !== 'none') s.firstChild.style.color = c;
    box.append(s);
  });
  if (!ps.length) box.append(el('div', { class: 'stat' }, el('div', { class: 'stat-value muted' }, 'No data')));
  body.append(box);
}

/* A gauge as an SVG arc from min to max, coloured by the thresholds. */
function drawGauge(panel, frames, body) {
  const ps = pairs(panel, frames);
  const box = el('div', { class: 'stats' });
  for (const p of ps) {
    const min = p.cfg.min ?? 0, max = p.cfg.max ?? 100;
    const frac = Math.max(0, Math.min(1, ((Number(p.value) || 0) - min) / ((max - min) || 1)));
    const arc = (f) => {
      const a = Math.PI * (1 - f);
      return `${(50 + 40 * Math.cos(a)).toFixed(2)} ${(55 - 40 * Math.sin(a)).toFixed(2)}`;
    };
    const svg = el('svg:svg', { viewBox: '0 0 100 62', width: '100%', height: '100%', class: 'gauge' },
      el('svg:path', { d: `M ${arc(0)} A 40 40 0 0 1 ${arc(1)}`, stroke: '#2c3235', 'stroke-width': 10, fill: 'none' }),
      frac > 0 ? el('svg:path', { d: `M ${arc(0)} A 40 40 0 0 1 ${arc(frac)}`, stroke: valueColor(p.cfg, p.value, 0), 'stroke-width': 10, fill: 'none' }) : null,
      el('svg:text', { x: 50, y: 52, 'text-anchor': 'middle', 'font-size': 13 }, formatValue(p.value, p.cfg, true)),
      ps.length > 1 ? el('svg:text', { x: 50, y: 61, 'text-anchor': 'middle', 'font-size': 6 }, p.name) : null);
    box.append(el('div', { class: 'stat' }, svg));
  }
  body.append(box);
}

/* Bar gauge: one bar per value, horizontal or vertical, in SVG. */
function drawBarGauge(panel, frames, body) {
  const ps = pairs(panel, frames);
  const vertical = panel.options && panel.options.orientation === 'vertical';
  const n = Math.max(ps.length, 1);
  const W = 400, H = vertical ? 240 : Math.max(24 * n, 40);
  const svg = el('svg:svg', { viewBox: `0 0 ${W} ${H}`, width: '100%', height: '100%', preserveAspectRatio: 'none', class: 'bargauge' });
  ps.forEach((p, i) => {
    const min = p.cfg.min ?? 0;
    const max = p.cfg.max ?? Math.max(...ps.map((q) => Number(q.value) || 0), 1);
    const frac = Math.max(0, Math.min(1, ((Number(p.value) || 0) - min) / ((max - min) || 1)));
    const c = valueColor(p.cfg, p.value, i);
    const label = `${p.name}: ${formatValue(p.value, p.cfg, true)}`;
    if (vertical) {
      const bw = W / n, h = (H - 30) * frac;
      svg.append(el('svg:rect', { x: i * bw + 4, y: H - 30 - h, width: bw - 8, height: h, fill: c }, el('svg:title', {}, label)),
        el('svg:text', { x: i * bw + bw / 2, y: H - 16, 'text-anchor': 'middle', 'font-size': 10 }, p.name),
        el('svg:text', { x: i * bw + bw / 2, y: H - 4, 'text-anchor': 'middle', 'font-size': 10 }, formatValue(p.value, p.cfg, true)));
    } else {
      const bh = H / n, x0 = 120, w = (W - x0 - 70) * frac;
      svg.append(el('svg:text', { x: x0 - 6, y: i * bh + bh / 2 + 4, 'text-anchor': 'end', 'font-size': 11 }, p.name.length > 22 ? `${p.name.slice(0, 21)}…` : p.name),
        el('svg:rect', { x: x0, y: i * bh + 3, width: W - x0 - 70, height: bh - 6, fill: '#22252b' }),
        el('svg:rect', { x: x0, y: i * bh + 3, width: w, height: bh - 6, fill: c }, el('svg:title', {}, label)),
        el('svg:text', { x: W - 4, y: i * bh + bh / 2 + 4, 'text-anchor': 'end', 'font-size': 11 }, formatValue(p.value, p.cfg, true)));
    }
  });
  body.append(svg);
}

/* The x field of a bar chart: options.xField, else the first text field. */
function xField(panel, fs) {
  const want = panel.options && panel.options.xField;
  return (want && fs.find((f) => f.name === want)) || fs.find((f) => !f.numeric) || fs[0];
}

function drawBarChart(panel, frames, body) {
  const fs = fields(frames[0] || {});
  const x = xField(panel, fs);
  const series = fs.filter((f) => f !== x && f.numeric && !hiddenFromViz(panel, f));
  const horizontal = panel.options && panel.options.orientation === 'horizontal';
  const stacked = panel.options && panel.options.stacking && panel.options.stacking !== 'none';
  const cfgs = series.map((f) => fieldConfig(panel, f.name, true));
  chartOn(body, {
    type: 'bar',
    data: {
      labels: x ? x.values.map(String) : [],
      datasets: series.map((f, i) => ({
        label: displayName(cfgs[i], f.name), data: f.values,
        backgroundColor: (cfgs[i].color && cfgs[i].color.mode === 'thresholds')
          ? f.values.map((v) => valueColor(cfgs[i], v, i)) : valueColor(Object.assign({ color: { mode: 'palette-classic' } }, cfgs[i]), 0, i),
      })),
    },
    options: {
      indexAxis: horizontal ? 'y' : 'x',
      plugins: { legend: legendOpts(panel, series.length), tooltip: { callbacks: { label: (ctx) => `${ctx.dataset.label}: ${formatValue(ctx.raw, cfgs[ctx.datasetIndex], true)}` } } },
      scales: {
        [horizontal ? 'x' : 'y']: { stacked, min: cfgs[0] && cfgs[0].min, max: cfgs[0] && cfgs[0].max, ticks: { callback: (v) => formatValue(v, cfgs[0] || {}, true) } },
        [horizontal ? 'y' : 'x']: { stacked },
      },
    },
  });
}

function drawPie(panel, frames, body) {
  const ps = pairs(Object.assign({}, panel, { options: Object.assign({ reduceOptions: { values: true } }, panel.options) }), frames);
  const donut = panel.options && panel.options.pieType === 'donut';
  chartOn(body, {
    type: donut ? 'doughnut' : 'pie',
    data: {
      labels: ps.map((p) => p.name),
      datasets: [{ data: ps.map((p) => p.value), backgroundColor: ps.map((p, i) => PALETTE[i % PALETTE.length]), borderColor: '#181b1f' }],
    },
    options: {
      plugins: { legend: { display: true, position: 'right' }, tooltip: { callbacks: { label: (ctx) => `${ctx.label}: ${formatValue(ctx.raw, ps[ctx.dataIndex].cfg, true)}` } } },
    },
  });
}

/* Time series: x is the time (or first) field; format time_series frames
 * with a text column are pivoted into one series per metric value. */
function drawTimeSeries(panel, frames, body) {
  const datasets = [];
  let labels = [];
  const xs = new Set();
  const groups = [];
  for (const f of frames) {
    const fs = fields(f);
    const t = fs.find((x) => /^(time|ts|timestamp)$/i.test(x.name)) || fs[0];
    if (!t) continue;
    const metric = fs.find((x) => x !== t && !x.numeric);
    const vals = fs.filter((x) => x !== t && x.numeric);
    t.values.forEach((v) => xs.add(v));
    for (const v of vals) {
      if (metric) {
        const by = new Map();
        v.values.forEach((y, i) => {
          const k = String(metric.values[i]);
          if (!by.has(k)) by.set(k, new Map());
          by.get(k).set(t.values[i], y);
        });
        for (const [k, m] of by) groups.push({ name: vals.length > 1 ? `${k} ${v.name}` : k, field: v.name, m });
      } else {
        groups.push({ name: v.name, field: v.name, m: new Map(t.values.map((x, i) => [x, v.values[i]])) });
      }
    }
  }
  labels = [...xs].sort((a, b) => (typeof a === 'number' && typeof b === 'number' ? a - b : String(a) < String(b) ? -1 : 1));
  groups.forEach((g, i) => {
    const cfg = fieldConfig(panel, g.field, true);
    const c = valueColor(Object.assign({}, cfg, { color: cfg.color || { mode: 'palette-classic' } }), 0, i);
    datasets.push({
      label: displayName(cfg, g.name), data: labels.map((x) => (g.m.has(x) ? g.m.get(x) : null)),
      borderColor: c, backgroundColor: c, pointRadius: labels.length > 60 ? 0 : 2, spanGaps: true, tension: 0,
    });
  });
  const cfg0 = fieldConfig(panel, groups[0] ? groups[0].field : '', true);
  chartOn(body, {
    type: 'line',
    data: { labels: labels.map(String), datasets },
    options: {
      plugins: { legend: legendOpts(panel, datasets.length) },
      scales: { y: { min: cfg0.min, max: cfg0.max, ticks: { callback: (v) => formatValue(v, cfg0, true) } }, x: { ticks: { maxTicksLimit: 12 } } },
    },
  });
}

function drawTable(panel, frames, body) {
  const f = frames[0] || {};
  const fs = fields(f);
  const cfgs = fs.map((x) => fieldConfig(panel, x.name, x.numeric));
  const colgroup = el('colgroup', {}, fs.map((x, i) => {
    const c = el('col');
    if (cfgs[i].custom.width) c.style.width = `${Number(cfgs[i].custom.width)}px`;
    return c;
  }));
  const visible = fs.map((x, i) => !cfgs[i].custom.hidden && !cfgs[i].custom.hideFrom);
  const head = el('tr', {}, fs.map((x, i) => visible[i] && el('th', { class: x.numeric ? 'num' : null }, displayName(cfgs[i], x.name))));
  const rows = (f.rows || []).map((r, ri) => el('tr', {}, fs.map((x, i) => {
    if (!visible[i]) return null;
    const v = x.values[ri];
    const td = el('td', { class: v === null ? 'null' : x.numeric ? 'num' : null }, v === null ? 'null' : formatValue(v, cfgs[i], x.numeric));
    const align = cfgs[i].custom.align;
    if (align && align !== 'auto') td.style.textAlign = align;
    const mode = (cfgs[i].custom.cellOptions && cfgs[i].custom.cellOptions.type) || cfgs[i].custom.displayMode;
    if (x.numeric && v !== null && mode && /color-background/.test(mode)) td.style.background = valueColor(cfgs[i], v, i);
    if (x.numeric && v !== null && mode && /color-text/.test(mode)) td.style.color = valueColor(cfgs[i], v, i);
    return td;
  })));
  body.append(el('table', { class: 'data' }, colgroup, el('thead', {}, head), el('tbody', {}, rows)));
  if (f.truncated) body.append(el('div', { class: 'muted' }, `first ${f.rows.length} rows shown`));
}

/* ---- text panels: markdown (a safe subset) and sanitized HTML ------------------------ */

/* Inline markdown: **bold**, *em*, `code`, [text](http...) as nodes. */
function mdInline(s) {
  const out = [];
  const re = /(\*\*([^*]+)\*\*|\*([^*]+)\*|`([^`]+)`|\[([^\]]+)\]\(([^)\s]+)\))/g;
  let last = 0, m;
  while ((m = re.exec(s))) {
    if (m.index > last) out.push(s.slice(last, m.index));
    if (m[2]) out.push(el('strong', {}, m[2]));
    else if (m[3]) out.push(el('em', {}, m[3]));
    else if (m[4]) out.push(el('code', {}, m[4]));
    else out.push(/^(https?:|\/)/.test(m[6]) ? el('a', { href: m[6], rel: 'noopener noreferrer' }, m[5]) : m[5]);
    last = re.lastIndex;
  }
  if (last < s.length) out.push(s.slice(last));
  return out;
}

function markdown(text) {
  const box = el('div', { class: 'text-panel' });
  let list = null, para = [];
  const flush = () => { if (para.length) box.append(el('p', {}, mdInline(para.join(' ')))); para = []; };
  for (const line of String(text).split('\n')) {
    const h = line.match(/^(#{1,6})\s+(.*)$/);
    const li = line.match(/^\s*[-*]\s+(.*)$/);
    if (h) { flush(); list = null; box.append(el(`h${Math.min(h[1].length + 1, 6)}`, {}, mdInline(h[2]))); }
    else if (li) { flush(); if (!list) box.append(list = el('ul')); list.append(el('li', {}, mdInline(li[1]))); }
    else if (!line.trim()) { flush(); list = null; }
    else { list = null; para.push(line.trim()); }
  }
  flush();
  return box;
}

const SAFE_TAGS = new Set(['P', 'BR', 'B', 'STRONG', 'I', 'EM', 'U', 'CODE', 'PRE', 'UL', 'OL', 'LI', 'H1', 'H2', 'H3', 'H4', 'H5', 'H6', 'A', 'SPAN', 'DIV', 'TABLE', 'THEAD', 'TBODY', 'TR', 'TH', 'TD', 'HR', 'SMALL', 'BLOCKQUOTE']);

/* Keep the allowed tags and only http(s) links; drop everything else
 * (scripts, handlers, styles), keeping the text of unknown elements. */
function sanitize(node) {
  const out = document.createDocumentFragment();
  for (const n of node.childNodes) {
    if (n.nodeType === Node.TEXT_NODE) out.append(n.textContent);
    else if (n.nodeType === Node.ELEMENT_NODE && SAFE_TAGS.has(n.tagName)) {
      const e = document.createElement(n.tagName);
      const href = n.getAttribute('href');
      if (n.tagName === 'A' && href && /^(https?:|\/)/.test(href)) { e.setAttribute('href', href); e.setAttribute('rel', 'noopener noreferrer'); }
      e.append(sanitize(n));
      out.append(e);
    } else if (n.nodeType === Node.ELEMENT_NODE && !/^(SCRIPT|STYLE|IFRAME|OBJECT|TEMPLATE)$/.test(n.tagName)) out.append(sanitize(n));
  }
  return out;
}

function drawText(panel, body, vars) {
  const o = panel.options || {};
  const content = interpolateText(o.content ?? panel.content ?? '', vars);
  const mode = o.mode || panel.mode || 'markdown';
  if (mode === 'html') {
    /* an inert template: nothing in it loads or runs while it is read; the
     * handler attributes go first only so that the browser does not report
     * each one it refuses (the sanitizer drops all attributes anyway) */
    const holder = document.createElement('template');
    holder.innerHTML = content.replace(/\son[a-z]+\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi, '');
    body.append(el('div', { class: 'text-panel' }, sanitize(holder.content)));
  } else if (mode === 'code') body.append(el('pre', { class: 'text-panel' }, content));
  else body.append(markdown(content));
}

/* $var, ${var}, ${var:fmt} and [[var]] in titles and text, as text. */
function interpolateText(s, vars) {
  return String(s).replace(/\$\{(\w+)(?::\w+)?\}|\[\[(\w+)\]\]|\$(\w+)/g, (m, a, b, c) => {
    const v = vars[a || b || c];
    return v === undefined ? m : v.join(', ');
  });
}

const DRAW = {
  stat: drawStat, gauge: drawGauge, bargauge: drawBarGauge, barchart: drawBarChart,
  piechart: drawPie, timeseries: drawTimeSeries, graph: drawTimeSeries, table: drawTable,
};

/* ---- a dashboard ------------------------------------------------------------------------- */

function urlVars() {
  const q = new URLSearchParams(location.search);
  const out = new URLSearchParams();
  for (const [k, v] of q) if (k.startsWith('var-')) out.append(k, v);
  return out;
}

async function showDashboardList(m) {
  const j = await api('/api/dashboards');
  m.append(el('h1', {}, 'Dashboards'));
  if (!j.dashboards.length) m.append(el('p', { class: 'muted' }, 'No dashboards: put Grafana dashboard JSON files in project/dashboards/ or give --dashboards DIR.'));
  m.append(el('ul', { class: 'dash-list' }, j.dashboards.map((d) => el('li', {},
    el('a', { href: `/d/${encodeURIComponent(d.uid)}`, 'data-nav': true }, d.title),
    (d.tags || []).map((t) => el('span', { class: 'tag' }, t)),
    el('span', { class: 'muted' }, `  ${d.file}`)))));
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
    if (!r || v.type === 'constant' || v.hide === 2) continue;
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
function layout(dash, open) {
  const top = [...(dash.panels || [])].sort((a, b) => ((a.gridPos || {}).y || 0) - ((b.gridPos || {}).y || 0));
  const out = [];
  let shift = 0;
  for (const p of top) {
    const g = Object.assign({ x: 0, y: 0, w: 12, h: 8 }, p.gridPos);
    out.push({ p, g: Object.assign({}, g, { y: g.y + shift }) });
    if (p.type === 'row' && p.collapsed && open.has(p.id)) {
      let bottom = g.y + 1;
      for (const c of p.panels || []) {
        const cg = Object.assign({ x: 0, y: g.y + 1, w: 12, h: 8 }, c.gridPos);
        out.push({ p: c, g: Object.assign({}, cg, { y: cg.y + shift }) });
        bottom = Math.max(bottom, cg.y + cg.h);
      }
      shift += bottom - (g.y + 1);
    }
  }
  return out;
}

async function showDashboard(uid, m) {
  const openRows = new Set();
  let seq = 0;
  const draw = async () => {
    const my = ++seq;
    for (const c of charts) c.destroy();
    charts.clear();
    const q = urlVars().toString();
    const j = await api(`/api/dashboards/${encodeURIComponent(uid)}${q ? `?${q}` : ''}`);
    if (my !== seq) return;
    const dash = j.dashboard;
    const vals = Object.fromEntries(j.variables.map((v) => [v.name, v.current]));
    document.title = `${dash.title || uid} · bookpipe`;
    clear(m);
    m.append(el('h1', {}, dash.title || uid));
    m.append(variableBar(dash, j.variables, (name, values) => {
      const p = new URLSearchParams(location.search);
      p.delete(`var-${name}`);
      for (const v of values) p.append(`var-${name}`, v);
      history.pushState(null, '', `${location.pathname}?${p}`);
      draw().catch((e) => m.append(errorBox(e.message)));
    }));
    const grid = el('div', { class: 'grid', id: 'grid' });
    m.append(grid);
    const jobs = [];
    for (const { p, g } of layout(dash, openRows)) {
      const place = (node) => {
        node.style.gridColumn = `${g.x + 1} / span ${Math.max(1, Math.min(24, g.w))}`;
        node.style.gridRow = `${g.y + 1} / span ${Math.max(1, g.h)}`;
        grid.append(node);
      };
      if (p.type === 'row') {
        const head = el('div', { class: 'row-head', 'data-panel': p.id },
          p.collapsed ? (openRows.has(p.id) ? '▾ ' : '▸ ') : '', interpolateText(p.title || '', vals));
        if (p.collapsed) head.addEventListener('click', () => { openRows.has(p.id) ? openRows.delete(p.id) : openRows.add(p.id); draw(); });
        place(head);
        continue;
      }
      const body = el('div', { class: 'panel-body' });
      const node = el('div', { class: 'panel', 'data-panel': p.id, 'data-type': p.type },
        el('div', { class: 'panel-title', title: p.description || null }, interpolateText(p.title || '', vals)), body);
      place(node);
      jobs.push(fillPanel(uid, p, body, node, vals, q, () => my === seq));
    }
    await Promise.all(jobs);
    if (my === seq) m.dataset.ready = String(my);
  };
  leaveRoom = () => { seq++; for (const c of charts) c.destroy(); charts.clear(); };
  await draw();
}

async function fillPanel(uid, p, body, node, vals, q, current) {
  if (p.type === 'text') { drawText(p, body, vals); node.dataset.state = 'done'; return; }
  const fn = DRAW[p.type];
  if (!fn) { body.append(el('div', { class: 'muted' }, `Panel type "${p.type}" is not drawn here.`)); node.dataset.state = 'done'; return; }
  try {
    const j = await api(`/api/dashboards/${encodeURIComponent(uid)}/panels/${p.id}/query${q ? `?${q}` : ''}`);
    if (!current()) return;
    const bad = j.frames.filter((f) => f.error);
    const good = j.frames.filter((f) => !f.error);
    for (const f of bad) body.append(el('div', { class: 'panel-error' }, `${f.refId}: ${f.error}`));
    if (good.length || !bad.length) fn(p, good.length ? good : [{ columns: [], rows: [] }], body);
    node.dataset.state = bad.length ? 'error' : 'done';
  } catch (e) {
    body.append(el('div', { class: 'panel-error' }, e.message));
    node.dataset.state = 'error';
  }
}

/* ---- the pipeline: DAG, runs, Run now ---------------------------------------------------- */

/* Blocks in columns by depth (longest path from a source); edges as curves. */
function drawDag(pl) {
  const idx = new Map(pl.blocks.map((b, i) => [b.name, i]));
  const depth = new Array(pl.blocks.length).fill(-1);
  const d = (i, seen) => {
    if (depth[i] >= 0) return depth[i];
    if (seen.has(i)) return 0;
    seen.add(i);
    let m = 0;
    for (const u of pl.blocks[i].upstream) if (idx.has(u)) m = Math.max(m, d(idx.get(u), seen) + 1);
    return (depth[i] = m);
  };
  pl.blocks.forEach((b, i) => d(i, new Set()));
  const cols = [];
  pl.blocks.forEach((b, i) => (cols[depth[i]] = cols[depth[i]] || []).push(i));
  const NW = 150, NH = 48, GX = 36, GY = 18;
  const pos = [];
  cols.forEach((c, ci) => c.forEach((i, k) => (pos[i] = { x: 16 + ci * (NW + GX), y: 16 + k * (NH + GY) })));
  const W = 32 + cols.length * (NW + GX) - GX;
  const H = 32 + Math.max(...cols.map((c) => c.length)) * (NH + GY) - GY;
  const svg = el('svg:svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: 'dag' });
  pl.blocks.forEach((b, i) => {
    for (const u of b.upstream) {
      if (!idx.has(u)) continue;
      const a = pos[idx.get(u)], z = pos[i];
      const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = z.x, y2 = z.y + NH / 2, mx = (x1 + x2) / 2;
      svg.append(el('svg:path', { class: 'edge', d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}` }));
    }
  });
  const fill = { completed: '#1f5130', failed: '#6b1d27', upstream_failed: '#6b1d27', cancelled: '#6b1d27', running: '#2c4f8c' };
  pl.blocks.forEach((b, i) => {
    const st = b.last && b.last.status;
    const name = b.name.length > 19 ? `${b.name.slice(0, 18)}…` : b.name;
    svg.append(el('svg:g', { class: 'node', 'data-block': b.name, 'data-status': st || 'none', transform: `translate(${pos[i].x},${pos[i].y})` },
      el('svg:title', {}, `${b.name} (${b.type}): ${st || 'never run'}${b.last && b.last.run_id ? ` in run ${b.last.run_id}` : ''}`),
      el('svg:rect', { width: NW, height: NH, rx: 6, fill: fill[st] || '#2a2d33' }),
      el('svg:text', { x: 10, y: 20, 'font-size': 13, 'font-weight': 600 }, name),
      el('svg:text', { x: 10, y: 38, 'font-size': 11, opacity: 0.75 }, `${b.type} · ${st || 'never run'}`)));
  });
  return svg;
}

async function showPipeline(m, runMatch) {
  let timer = null;
  leaveRoom = () => { if (timer) clearTimeout(timer); timer = null; };
  const [pl, sched, health] = await Promise.all([
    api('/api/pipeline'), api('/api/schedule').catch(() => ({})), api('/api/health')]);
  const targetSel = el('select', { id: 'run-target' }, el('option', { value: health.target }, health.target));
  const runBtn = el('button', { class: 'primary', id: 'run-now' }, 'Run now');
  const note = el('span', { id: 'run-note', class: 'muted' });
  const next = sched.enabled ? `next run ${new Date(sched.next_run).toLocaleString()}` : sched.schedule ? `not scheduled here: ${sched.disabled_because}` : 'no schedule';
  m.append(el('h1', {}, `Pipeline ${pl.name || ''}`),
    el('div', { class: 'bar' }, runBtn, el('label', {}, 'target ', targetSel), note,
      el('span', { class: 'muted', id: 'schedule' }, `schedule: ${sched.schedule || 'none'} · ${next}`),
      el('span', { class: 'muted' }, pl.file)));
  const dagBox = el('div', { class: 'dag' }, drawDag(pl));
  const runsBox = el('div', { id: 'runs' });
  const detail = el('div', { id: 'run-detail' });
  m.append(dagBox, el('h2', {}, 'Runs'), runsBox, detail);

  const refresh = async () => {
    const [p2, runs] = await Promise.all([api('/api/pipeline'), api('/api/runs').catch((e) => e)]);
    clear(dagBox).append(drawDag(p2));
    clear(runsBox);
    if (runs instanceof Error) { runsBox.append(el('p', { class: 'muted' }, runs.status === 503 ? runs.message : `No run history yet (${runs.message})`)); return; }
    runsBox.append(runsTable(runs));
  };
  /* while a run started here goes, poll; the warehouse is busy until it ends */
  const poll = async () => {
    const h = await api('/api/health').catch(() => ({}));
    if (h.run_in_progress) {
      note.textContent = 'a run is in progress…';
      runBtn.disabled = true;
      timer = setTimeout(poll, 1000);
      return;
    }
    runBtn.disabled = false;
    note.textContent = '';
    timer = null;
    await refresh();
  };
  runBtn.addEventListener('click', async () => {
    runBtn.disabled = true;
    try {
      await api('/api/runs', { target: targetSel.value });
      note.textContent = 'run started…';
      timer = setTimeout(poll, 500);
    } catch (e) {
      note.textContent = e.message;
      runBtn.disabled = false;
    }
  });
  await refresh().catch((e) => runsBox.append(errorBox(e.message)));
  if (health.run_in_progress) poll();
  if (runMatch) await showRun(detail, runMatch[1]);
}

function runsTable(runs) {
  const cols = Object.fromEntries(runs.columns.map((c, i) => [c.name, i]));
  if (!runs.rows.length) return el('p', { class: 'muted' }, 'No runs yet: press Run now, or run `bookpipe run`.');
  return el('table', { class: 'data runs' },
    el('thead', {}, el('tr', {}, ['Run', 'Status', 'Trigger', 'Started', 'Duration', 'Pipeline'].map((h) => el('th', {}, h)))),
    el('tbody', {}, runs.rows.map((r) => {
      const id = r[cols.run_id];
      return el('tr', { 'data-run': id, onclick: () => go(`/pipeline/runs/${id}`) },
        el('td', {}, el('a', { href: `/pipeline/runs/${id}`, 'data-nav': true }, `#${id}`)),
        el('td', {}, statusBadge(r[cols.status])), el('td', { class: 'trigger' }, r[cols.trigger]),
        el('td', {}, localTime(r[cols.started_at])), el('td', {}, duration(r[cols.started_at], r[cols.ended_at])),
        el('td', {}, r[cols.pipeline]));
    })));
}

async function showRun(box, id) {
  const j = await api(`/api/runs/${id}`);
  const c = Object.fromEntries(j.columns.map((x, i) => [x.name, i]));
  const logBox = el('div');
  box.append(el('h2', {}, `Run #${id}`),
    el('table', { class: 'data runs', id: 'block-runs' },
      el('thead', {}, el('tr', {}, ['Block', 'Type', 'Status', 'Attempt', 'Started', 'Duration', 'Rows in', 'Rows out', 'Error'].map((h) => el('th', {}, h)))),
      el('tbody', {}, j.rows.map((r) => el('tr', {
        onclick: () => clear(logBox).append(el('h2', {}, `Log of ${r[c.block]} (attempt ${r[c.attempt]})`), el('pre', { class: 'log' }, r[c.log] || '(no output)')),
      }, el('td', {}, r[c.block]), el('td', {}, r[c.type]), el('td', {}, statusBadge(r[c.status])), el('td', { class: 'num' }, r[c.attempt]),
      el('td', {}, localTime(r[c.started_at])), el('td', {}, duration(r[c.started_at], r[c.ended_at])),
      el('td', { class: 'num' }, r[c.rows_in] ?? ''), el('td', { class: 'num' }, r[c.rows_out] ?? ''), el('td', { class: 'error' }, r[c.error] || ''))))),
    el('p', { class: 'muted' }, 'Click a block for its log.'), logBox);
}

/* ---- explore: tables and read-only SQL ------------------------------------------------- */

function quoteIdent(s) { return `"${String(s).replace(/"/g, '""')}"`; }

function csvOf(res) {
  const q = (v) => (v === null ? '' : /[",\r\n]/.test(v) ? `"${v.replace(/"/g, '""')}"` : v);
  return [res.columns.map((c) => q(c.name)).join(','), ...res.rows.map((r) => r.map(q).join(','))].join('\r\n') + '\r\n';
}

async function showExplore(m) {
  const PAGE = 100;
  const sql = el('textarea', { class: 'sql', id: 'sql', spellcheck: 'false' }, 'SELECT * FROM information_schema.tables LIMIT 20');
  const runBtn = el('button', { class: 'primary', id: 'run-sql' }, 'Run (Ctrl+Enter)');
  const csvBtn = el('button', { id: 'csv', disabled: true }, 'Download CSV');
  const info = el('span', { class: 'muted', id: 'query-info' });
  const out = el('div', { id: 'result' });
  const tree = el('div', { class: 'tree', id: 'tree' }, el('span', { class: 'muted' }, 'loading tables…'));
  m.append(el('div', { class: 'explore' }, tree,
    el('div', {}, sql, el('div', { class: 'bar' }, runBtn, csvBtn, info), out)));
  let res = null;

  const page = (n) => {
    clear(out);
    const pages = Math.max(1, Math.ceil(res.rows.length / PAGE));
    const rows = res.rows.slice(n * PAGE, (n + 1) * PAGE);
    const nums = res.columns.map((c) => c.numeric);
    out.append(el('div', { class: 'result-grid' }, el('table', { class: 'data', id: 'grid' },
      el('thead', {}, el('tr', {}, res.columns.map((c, i) => el('th', { class: nums[i] ? 'num' : null }, c.name)))),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((v, i) => el('td', { class: v === null ? 'null' : nums[i] ? 'num' : null }, v === null ? 'NULL' : v))))))));
    if (pages > 1) {
      out.append(el('div', { class: 'bar' },
        el('button', { disabled: n === 0, onclick: () => page(n - 1) }, '‹ Prev'),
        el('span', { id: 'page' }, `page ${n + 1} of ${pages}`),
        el('button', { disabled: n + 1 >= pages, onclick: () => page(n + 1) }, 'Next ›')));
    }
  };

  const run = async () => {
    runBtn.disabled = true;
    info.textContent = 'running…';
    const t0 = performance.now();
    try {
      res = await api('/api/query', { sql: sql.value });
      const total = performance.now() - t0;
      info.textContent = `${res.rows.length.toLocaleString()} row${res.rows.length === 1 ? '' : 's'} · ${res.elapsed_ms.toFixed(1)} ms in the database, ${total.toFixed(0)} ms in all` +
        (res.truncated ? ` · row cap reached: only the first ${res.rows.length.toLocaleString()} rows are shown` : '');
      info.classList.toggle('error', !!res.truncated);
      csvBtn.disabled = false;
      page(0);
    } catch (e) {
      res = null;
      csvBtn.disabled = true;
      info.textContent = '';
      clear(out).append(errorBox(e.message));
    } finally {
      runBtn.disabled = false;
    }
  };
  runBtn.addEventListener('click', run);
  sql.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  csvBtn.addEventListener('click', () => {
    if (!res) return;
    const a = el('a', { href: URL.createObjectURL(new Blob([csvOf(res)], { type: 'text/csv' })), download: 'query.csv' });
    document.body.append(a);
    a.click();
    a.remove();
    setTimeout(() => URL.revokeObjectURL(a.href), 1000);
  });

  try {
    const t = await api('/api/tables');
    clear(tree);
    for (const s of t.schemas) {
      tree.append(el('details', { open: s.name !== 'bookpipe_meta' && !s.name.endsWith('_stage') }, el('summary', {}, s.name),
        s.tables.map((tb) => el('details', { 'data-table': `${s.name}.${tb.name}` },
          el('summary', {}, el('a', {
            href: '#', onclick: (e) => { e.preventDefault(); sql.value = `SELECT * FROM ${quoteIdent(s.name)}.${quoteIdent(tb.name)} LIMIT 100`; run(); },
          }, tb.name), el('span', { class: 'muted' }, tb.rows !== undefined ? ` ${tb.rows.toLocaleString()} rows` : tb.type === 'VIEW' ? ' view' : '')),
          el('ul', {}, tb.columns.map((c) => el('li', {}, c.name, ' ', el('span', { class: 'ctype' }, c.type))))))));
    }
  } catch (e) {
    clear(tree).append(errorBox(e.message));
  }
}

/* ---- start ---------------------------------------------------------------------------------- */

if (window.Chart) {
  Chart.defaults.color = '#ccccdc';
  Chart.defaults.borderColor = 'rgba(204,204,220,0.12)';
}
showHealth();
route();
