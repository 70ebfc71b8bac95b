/* format.js: values and colours as Grafana formats them: units, decimals,
 * thresholds, field configs and overrides, frames to series. */
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

export { PALETTE, color, displayName, fieldConfig, fields, formatValue, hiddenFromViz, pairs, valueColor };
