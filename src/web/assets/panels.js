/* panels.js: one function per Grafana panel type (stat, gauge, bar gauge,
 * bar chart, pie, time series, table, text), drawn with Chart.js or SVG. */
import { el } from './dom.js';
import { PALETTE, color, displayName, fieldConfig, fields, formatTime, formatValue, hiddenFromViz, pairs, textOn, valueColor } from './format.js';
import { REDUCER_NAMES, frameLength, joinByTime, reduceValues, seriesName } from './frames.js';
import { dataLink } from './links.js';

/* ---- panels ------------------------------------------------------------------------------ */

const charts = new Set();

function chartOn(box, config) {
  /* charts have a name for screen readers: what they plot */
  const names = (config.data.datasets || []).map((d) => d.label).filter(Boolean);
  const canvas = el('canvas', { role: 'img', 'aria-label': `Chart${names.length ? `: ${names.slice(0, 10).join(', ')}` : ''}` });
  box.append(el('div', { class: 'chart-box' }, canvas));
  config.options = Object.assign({ responsive: true, maintainAspectRatio: false, animation: false }, config.options || {});
  const c = new window.Chart(canvas, config);
  charts.add(c);
  return c;
}

/* Grafana's dashboard-wide crosshair (graphTooltip 1: the line, 2: the
 * tooltip too): hovering one time series shows the same time on the others. */
const timeCharts = new Set();
let syncing = false;
function shareHover(chart, panel) {
  const mode = panel._graphTooltip || 0;
  if (!mode) return;
  timeCharts.add(chart);
  chart.options.onHover = (e, active) => {
    if (syncing) return;
    syncing = true;
    const x = active.length ? chart.data.datasets[active[0].datasetIndex].data[active[0].index].x : null;
    for (const other of timeCharts) {
      if (other === chart || !other.canvas || !other.canvas.isConnected) continue;
      const ds = other.data.datasets[0];
      let at = -1;
      if (x !== null && ds) at = ds.data.reduce((best, p, i) => (best < 0 || Math.abs(p.x - x) < Math.abs(ds.data[best].x - x) ? i : best), -1);
      const els = at < 0 ? [] : other.data.datasets.map((d, i) => ({ datasetIndex: i, index: at }));
      other.setActiveElements(els);
      if (mode === 2 && other.tooltip) other.tooltip.setActiveElements(els, { x: 0, y: 0 });
      other.update('none');
    }
    syncing = false;
  };
}

function legendOpts(panel, series) {
  const lg = (panel.options && panel.options.legend) || {};
  const show = lg.showLegend !== false && lg.displayMode !== 'hidden' && lg.displayMode !== 'table' && series > 1;
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
    if (mode === 'background') { s.style.background = c; s.style.color = textOn(c) || ''; }
    else if (mode !== 'none') s.firstChild.style.color = c;
    box.append(s);
  });
  if (!ps.length) { noData(body); return; }
  body.append(box);
  fitText(box);
}

/* Grafana's big values fit their box: the font from the box's size and
 * the text's length (as its BigValue does), 10 to 80 px. */
function fitText(box) {
  for (const v of box.querySelectorAll('.stat-value')) {
    const cell = v.parentNode;
    const w = cell.clientWidth || 200, h = cell.clientHeight || 80;
    const len = Math.max(1, v.textContent.length);
    const size = Math.max(10, Math.min(80, h * (cell.querySelector('.stat-name') ? 0.45 : 0.6), (w * 0.9) / (len * 0.6)));
    v.style.fontSize = `${Math.floor(size)}px`;
  }
}

/* A gauge as an SVG arc from min to max, coloured by the thresholds. */
function drawGauge(panel, frames, body) {
  const ps = pairs(panel, frames);
  if (!ps.length) { noData(body); return; }
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
  if (!ps.length) { noData(body); return; }
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
  if (!fs.length || !fs[0].values.length) { noData(body); return; }
  const x = xField(panel, fs);
  const series = fs.filter((f) => f !== x && f.numeric && !hiddenFromViz(panel, f));
  const horizontal = panel.options && panel.options.orientation === 'horizontal';
  const stacked = panel.options && panel.options.stacking && panel.options.stacking !== 'none';
  const cfgs = series.map((f) => fieldConfig(panel, f.name, true));
  chartOn(body, {
    type: 'bar',
    data: {
      labels: x ? x.values.map((v) => (x.type === 'time' ? formatTime(v, 'YYYY-MM-DD HH:mm') : String(v))) : [],
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
  if (!ps.length) { noData(body); return; }
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

/* A round step for time ticks: about one per 100 px. */
const STEPS = [1e3, 5e3, 10e3, 15e3, 30e3, 60e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3,
  21600e3, 43200e3, 86400e3, 7 * 86400e3, 30 * 86400e3, 365 * 86400e3, 5 * 365 * 86400e3, 10 * 365 * 86400e3];
function timeStep(span, px) {
  const want = span / Math.max(2, Math.floor((px || 600) / 100));
  return STEPS.find((s) => s >= want) || STEPS[STEPS.length - 1];
}

/* Ticks along a time axis as Grafana labels them for the range shown. */
function timeTick(ms, span) {
  if (span <= 86400000) return formatTime(ms, 'HH:mm');
  if (span <= 30 * 86400000) return formatTime(ms, 'MM/DD HH:mm');
  if (span <= 365 * 86400000) return formatTime(ms, 'MM/DD');
  if (span <= 3 * 365 * 86400000) return formatTime(ms, 'YYYY-MM');
  return formatTime(ms, 'YYYY');
}

/* Time series: every number field of the (wide) frames is a series over
 * the time field, all frames joined on time so that the tooltip shows
 * every series at the hovered time, as Grafana's shared crosshair. */
function drawTimeSeries(panel, frames, body, range) {
  const fr = joinByTime(frames.filter((f) => f.fields && f.fields.some((x) => x.type === 'time')));
  if (!fr) { noData(body); return; }
  const t = fr.fields.find((x) => x.type === 'time');
  const series = fr.fields.filter((x) => x.numeric && !hiddenFromViz(panel, x));
  const cfgs = series.map((f) => fieldConfig(panel, [f.name, seriesName(f, [fr])], true));
  const names = series.map((f, i) => displayName(cfgs[i], seriesName(f, [fr])));
  const datasets = series.map((f, i) => {
    const cfg = cfgs[i];
    const c = seriesColor(cfg, i);
    const custom = cfg.custom || {};
    const fill = Number(custom.fillOpacity || 0) / 100;
    return {
      label: names[i], data: t.values.map((x, k) => ({ x, y: f.values[k] })), borderColor: c,
      backgroundColor: fill ? `${c}${Math.round(fill * 255).toString(16).padStart(2, '0')}` : c, fill: fill > 0,
      pointRadius: custom.showPoints === 'always' || (custom.showPoints !== 'never' && t.values.length <= 40) ? 2 : 0,
      borderWidth: custom.lineWidth ?? 1, spanGaps: custom.spanNulls === true, tension: custom.lineInterpolation === 'smooth' ? 0.3 : 0,
      stepped: custom.lineInterpolation === 'stepBefore' ? 'before' : custom.lineInterpolation === 'stepAfter' ? 'after' : false,
      showLine: custom.drawStyle !== 'points',
      type: custom.drawStyle === 'bars' ? 'bar' : 'line',
    };
  });
  if (!datasets.length || !t.values.length) { noData(body); return; }
  const span = range ? range.to - range.from : (t.values[t.values.length - 1] - t.values[0]) || 1;
  const cfg0 = cfgs[0] || {};
  const stacked = cfg0.custom && cfg0.custom.stacking && cfg0.custom.stacking.mode && cfg0.custom.stacking.mode !== 'none';
  const chart = chartOn(body, {
    type: 'line',
    data: { datasets },
    options: {
      parsing: { xAxisKey: 'x', yAxisKey: 'y' },
      interaction: { mode: 'index', intersect: false },
      plugins: {
        legend: legendOpts(panel, datasets.length),
        tooltip: { callbacks: {
          title: (items) => (items.length ? formatTime(items[0].parsed.x, 'YYYY-MM-DD HH:mm:ss') : ''),
          label: (ctx) => `${ctx.dataset.label}: ${formatValue(ctx.parsed.y, cfgs[ctx.datasetIndex], true)}`,
        } },
      },
      scales: {
        x: { type: 'linear', min: range ? range.from : undefined, max: range ? range.to : undefined,
          afterBuildTicks: (axis) => {
            const step = timeStep(span, axis.width);
            const ticks = [];
            for (let v = Math.ceil(axis.min / step) * step; v <= axis.max; v += step) ticks.push({ value: v });
            axis.ticks = ticks;
          },
          ticks: { callback: (v) => timeTick(v, span) } },
        y: { stacked, min: cfg0.min, max: cfg0.max, ticks: { callback: (v) => formatValue(v, cfg0, true) } },
      },
    },
  });
  shareHover(chart, panel);
  legendTable(panel, series, names, cfgs, body);
}

/* Grafana's table legend (displayMode table) with its calcs per series. */
function legendTable(panel, series, names, cfgs, body) {
  const lg = (panel.options && panel.options.legend) || {};
  if (lg.displayMode !== 'table' || lg.showLegend === false) return;
  const calcs = lg.calcs || [];
  body.classList.add('has-legend-table');
  body.append(el('table', { class: 'data legend-table' },
    el('thead', {}, el('tr', {}, el('th', {}, 'Name'), calcs.map((c) => el('th', { class: 'num' }, REDUCER_NAMES[c] || c)))),
    el('tbody', {}, series.map((f, i) => el('tr', {}, el('td', {}, swatch(seriesColor(cfgs[i], i)), names[i]),
      calcs.map((c) => el('td', { class: 'num' }, formatValue(reduceValues(f.values, c), cfgs[i], true))))))));
}

/* a series' colour: its own (fixed, palette) or the classic palette */
function seriesColor(cfg, i) {
  return valueColor(Object.assign({}, cfg, { color: cfg.color && cfg.color.mode !== 'thresholds' ? cfg.color : { mode: 'palette-classic' } }), null, i);
}

/* a colour chip; the colour set through the CSSOM (the page's CSP has no inline styles) */
function swatch(c) {
  const s = el('span', { class: 'swatch' });
  s.style.background = c;
  return s;
}

function noData(body, text) {
  body.append(el('div', { class: 'no-data' }, text || 'No data'));
}

function drawTable(panel, frames, body, range, vars) {
  const f = frames[0] || { fields: [] };
  const fs = fields(f);
  const n = f.fields ? frameLength(f) : (f.rows || []).length;
  if (!fs.length || !n) { noData(body); return; }
  const cfgs = fs.map((x) => fieldConfig(panel, [x.name, seriesName(x, frames)], x.numeric));
  const colgroup = el('colgroup', {}, fs.map((x, i) => {
    const c = el('col');
    if (cfgs[i].custom.width) c.style.width = `${Number(cfgs[i].custom.width)}px`;
    return c;
  }));
  const visible = fs.map((x, i) => !cfgs[i].custom.hidden && !(cfgs[i].custom.hideFrom && cfgs[i].custom.hideFrom.viz));
  const head = el('tr', {}, fs.map((x, i) => visible[i] && el('th', { class: x.numeric ? 'num' : null, scope: 'col' }, displayName(cfgs[i], seriesName(x, frames)))));
  const rows = [...Array(n).keys()].map((ri) => el('tr', {}, fs.map((x, i) => {
    if (!visible[i]) return null;
    const v = x.values[ri];
    const text = formatValue(v, cfgs[i], x.numeric, x.type);
    const link = (cfgs[i].links || [])[0];
    const href = link ? dataLink(link, x, v, text, fs, ri, vars || {}, range) : null;
    const td = el('td', { class: v === null && text === 'null' ? 'null' : x.numeric ? 'num' : null },
      href ? el('a', { href, target: link.targetBlank ? '_blank' : null, rel: 'noopener noreferrer', title: link.title || null }, text) : text);
    const align = cfgs[i].custom.align;
    if (align && align !== 'auto') td.style.textAlign = align;
    const mode = (cfgs[i].custom.cellOptions && cfgs[i].custom.cellOptions.type) || cfgs[i].custom.displayMode;
    const mapped = (cfgs[i].mappings || []).length > 0;
    if ((x.numeric || mapped) && v !== null && mode && /color-background/.test(mode)) {
      td.style.background = valueColor(cfgs[i], v, i);
      td.style.color = textOn(td.style.background) || '';
    }
    if ((x.numeric || mapped) && v !== null && mode && /color-text/.test(mode)) td.style.color = valueColor(cfgs[i], v, i);
    return td;
  })));
  /* a scrolled table is reached with the keyboard (Tab, then the arrows) */
  body.append(el('div', { class: 'table-scroll', tabindex: 0, role: 'region', 'aria-label': `${panel.title || 'table'}: rows` }, el('table', { class: 'data' }, colgroup, el('thead', {}, head), el('tbody', {}, rows))));
  if (f.truncated) body.append(el('div', { class: 'muted' }, `first ${n} rows shown`));
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

/* Squarified treemap rectangles (Bruls, Huizing, van Wijk) for areas in
 * descending order, in the box x, y, w, h. */
function squarify(areas, x, y, w, h) {
  const out = [];
  const worst = (row, side) => {
    const s = row.reduce((a, b) => a + b, 0);
    return Math.max((side * side * Math.max(...row)) / (s * s), (s * s) / (side * side * Math.min(...row)));
  };
  const place = (row) => {
    const s = row.reduce((a, b) => a + b, 0);
    if (w >= h) {
      const cw = s / h;
      let yy = y;
      for (const a of row) { out.push({ x, y: yy, w: cw, h: a / cw }); yy += a / cw; }
      x += cw; w -= cw;
    } else {
      const rh = s / w;
      let xx = x;
      for (const a of row) { out.push({ x: xx, y, w: a / rh, h: rh }); xx += a / rh; }
      y += rh; h -= rh;
    }
  };
  let row = [];
  for (let i = 0; i < areas.length;) {
    const side = Math.min(w, h);
    const cand = [...row, areas[i]];
    if (!row.length || worst(cand, side) <= worst(row, side)) { row = cand; i++; } else { place(row); row = []; }
  }
  if (row.length) place(row);
  return out;
}

/* Treemap (the marcusolsson-treemap-panel's options: textField, sizeField,
 * colorField): one rectangle per row, its area the size. */
function drawTreemap(panel, frames, body) {
  const fs = fields(frames[0] || {});
  const o = panel.options || {};
  const size = fs.find((f) => f.name === o.sizeField) || fs.find((f) => f.numeric);
  const text = fs.find((f) => f.name === o.textField) || fs.find((f) => f.type === 'string');
  const colorF = fs.find((f) => f.name === o.colorField);
  if (!size || !size.values.length) { noData(body); return; }
  const rows = size.values.map((v, i) => ({ v: Number(v) || 0, i })).filter((r) => r.v > 0).sort((a, b) => b.v - a.v);
  const W = 400, H = 240;
  const total = rows.reduce((a, r) => a + r.v, 0) || 1;
  const rects = squarify(rows.map((r) => (r.v / total) * W * H), 0, 0, W, H);
  const cfg = fieldConfig(panel, size.name, true);
  /* boxes in percent of the panel, so that labels keep their shape */
  const box = el('div', { class: 'treemap', role: 'img', 'aria-label': `Treemap of ${size.name}` });
  rows.forEach((r, k) => {
    const b = rects[k];
    const label = text ? String(text.values[r.i]) : String(r.i + 1);
    const fill = colorF ? valueColor(fieldConfig(panel, colorF.name, true), colorF.values[r.i], k) : PALETTE[k % PALETTE.length];
    const cell = el('div', { class: 'treemap-cell', title: `${label}: ${formatValue(r.v, cfg, true)}` },
      el('span', {}, label), el('span', { class: 'treemap-value' }, formatValue(r.v, cfg, true)));
    Object.assign(cell.style, { left: `${(b.x / W) * 100}%`, top: `${(b.y / H) * 100}%`, width: `${(b.w / W) * 100}%`,
      height: `${(b.h / H) * 100}%`, background: fill, color: textOn(fill) || '' });
    box.append(cell);
  });
  body.append(box);
}

const DRAW = {
  stat: drawStat, gauge: drawGauge, bargauge: drawBarGauge, barchart: drawBarChart,
  piechart: drawPie, timeseries: drawTimeSeries, graph: drawTimeSeries, table: drawTable,
  treemap: drawTreemap, 'marcusolsson-treemap-panel': drawTreemap,
};

export { DRAW, charts, drawText, interpolateText, noData, timeCharts };
