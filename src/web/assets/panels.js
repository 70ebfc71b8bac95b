/* panels.js: one function per Grafana panel type (stat, gauge, bar gauge,
 * bar chart, pie, time series, table, text), drawn with Chart.js or SVG. */
import { el } from './dom.js';
import { PALETTE, color, displayName, fieldConfig, fields, formatValue, hiddenFromViz, pairs, valueColor } from './format.js';

/* ---- panels ------------------------------------------------------------------------------ */

const charts = new Set();

function chartOn(box, config) {
  const canvas = el('canvas');
  box.append(el('div', { class: 'chart-box' }, canvas));
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
  const c = new window.Chart(canvas, config);
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

export { DRAW, charts, drawText, interpolateText };
