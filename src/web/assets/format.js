/* format.js: values and colours as Grafana formats them: units, decimals,
 * value mappings, thresholds, field configs and overrides. */
import { reduceValues, seriesName } from './frames.js';

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
  const names = Array.isArray(name) ? name : [name];
  const fc = panel.fieldConfig || {};
  const cfg = JSON.parse(JSON.stringify(fc.defaults || {}));
  cfg.custom = cfg.custom || {};
  for (const o of fc.overrides || []) {
    const m = o.matcher || {};
    let hit = false;
    if (m.id === 'byName') hit = names.includes(m.options);
    else if (m.id === 'byRegexp') { try { const re = new RegExp(m.options); hit = names.some((x) => re.test(x)); } catch (e) { hit = false; } }
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

/* v in a unit scaled by k (1000 or 1024) through the names: 1536 bytes is
 * "1.50 KiB"; start says which name v is in (decmbytes: MB). */
function scaledBy(v, k, names, decimals, start = 0) {
  let i = start;
  while (Math.abs(v) >= k && i < names.length - 1) { v /= k; i++; }
  return `${fixed(v, decimals ?? (i > start || !Number.isInteger(v) ? 2 : 0))} ${names[i]}`;
}

const BIN = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
const DEC = ['B', 'kB', 'MB', 'GB', 'TB', 'PB'];
const BITS = ['b', 'Kib', 'Mib', 'Gib', 'Tib'];
const DBITS = ['b', 'kb', 'Mb', 'Gb', 'Tb'];
const SCALED = {
  bytes: [1024, BIN, 0], decbytes: [1000, DEC, 0], bits: [1024, BITS, 0], decbits: [1000, DBITS, 0],
  kbytes: [1024, BIN, 1], deckbytes: [1000, DEC, 1], mbytes: [1024, BIN, 2], decmbytes: [1000, DEC, 2],
  gbytes: [1024, BIN, 3], decgbytes: [1000, DEC, 3], tbytes: [1024, BIN, 4], dectbytes: [1000, DEC, 4],
  Bps: [1000, DEC.map((x) => `${x}/s`), 0], binBps: [1024, BIN.map((x) => `${x}/s`), 0],
  bps: [1000, DBITS.map((x) => `${x}ps`), 0], binbps: [1024, BITS.map((x) => `${x}/s`), 0],
  KBs: [1000, DEC.map((x) => `${x}/s`), 1], MBs: [1000, DEC.map((x) => `${x}/s`), 2],
  GBs: [1000, DEC.map((x) => `${x}/s`), 3], Kbits: [1000, DBITS.map((x) => `${x}ps`), 1],
  Mbits: [1000, DBITS.map((x) => `${x}ps`), 2],
};

/* Durations as Grafana's time units write them: the largest unit that
 * keeps the number at least 1 ("1.50 s", "2.50 min", "3 day"). */
const DURATION = [[1e-9, 'ns'], [1e-6, 'µs'], [1e-3, 'ms'], [1, 's'], [60, 'min'], [3600, 'hour'], [86400, 'day'], [604800, 'week'], [31536000, 'year']];
function duration(seconds, decimals) {
  const a = Math.abs(seconds);
  let pick = DURATION[0];
  for (const d of DURATION) if (a >= d[0]) pick = d;
  if (a === 0) pick = DURATION[3];
  const v = Math.round((seconds / pick[0]) * 1e9) / 1e9; /* 0.00025 s is 250 µs, not 249.99... */
  return `${fixed(v, decimals ?? (Number.isInteger(v) ? 0 : pick[0] >= 60 ? 1 : 2))} ${pick[1]}`;
}

/* "1 day, 2 hours, 3 minutes": dtdurations and dtdurationms */
function longDuration(seconds) {
  if (seconds === 0) return '0 seconds';
  const parts = [];
  let left = Math.abs(Math.round(seconds * 1000)) / 1000;
  for (const [len, unit] of [[31536000, 'year'], [604800, 'week'], [86400, 'day'], [3600, 'hour'], [60, 'minute'], [1, 'second']]) {
    const n = Math.floor(left / len);
    if (n) { parts.push(`${n} ${unit}${n === 1 ? '' : 's'}`); left -= n * len; }
  }
  if (!parts.length) return `${Math.round(seconds * 1000)} ms`;
  return (seconds < 0 ? '-' : '') + parts.join(', ');
}

const pad = (n, w = 2) => String(n).padStart(w, '0');

/* The dashboard's time zone, as Grafana's `timezone`: "utc", "browser" (or
 * empty: the viewer's own), or an IANA name. Dates are shown in it. */
let zone = 'UTC';
const zoneFormats = new Map();

function setTimeZone(tz) {
  const own = Intl.DateTimeFormat().resolvedOptions().timeZone || 'UTC';
  const want = !tz || tz === 'browser' ? own : tz === 'utc' ? 'UTC' : tz;
  try { new Intl.DateTimeFormat('en-US', { timeZone: want }); zone = want; } catch (e) { zone = own; }
  return zone;
}

/* the wall clock at ms in the zone: {Y, M (1-12), D, h, m, s, ms, wd (0 Sunday)} */
function wall(ms) {
  const d = new Date(ms);
  if (zone === 'UTC') {
    return { Y: d.getUTCFullYear(), M: d.getUTCMonth() + 1, D: d.getUTCDate(), h: d.getUTCHours(), m: d.getUTCMinutes(),
      s: d.getUTCSeconds(), ms: d.getUTCMilliseconds(), wd: d.getUTCDay() };
  }
  if (!zoneFormats.has(zone)) {
    zoneFormats.set(zone, new Intl.DateTimeFormat('en-US', { timeZone: zone, hourCycle: 'h23', year: 'numeric', month: 'numeric',
      day: 'numeric', hour: 'numeric', minute: 'numeric', second: 'numeric', weekday: 'short' }));
  }
  const p = Object.fromEntries(zoneFormats.get(zone).formatToParts(d).map((x) => [x.type, x.value]));
  return { Y: +p.year, M: +p.month, D: +p.day, h: +p.hour % 24, m: +p.minute, s: +p.second, ms: d.getUTCMilliseconds(),
    wd: ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'].indexOf(p.weekday) };
}

/* epoch ms of a wall-clock time in the zone (the inverse of wall) */
function fromWall(Y, M, D, h, m, s) {
  const asUtc = Date.UTC(Y, M - 1, D, h, m, s);
  if (zone === 'UTC') return asUtc;
  const w = wall(asUtc);
  const offset = Date.UTC(w.Y, w.M - 1, w.D, w.h, w.m, w.s) - asUtc + (asUtc % 1000);
  return asUtc - offset;
}

const MONTHS = ['January', 'February', 'March', 'April', 'May', 'June', 'July', 'August', 'September', 'October', 'November', 'December'];
const DAYS = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];

/* moment.js tokens Grafana's date units use, in the dashboard's zone */
function formatTime(ms, fmt) {
  const w = wall(ms);
  const map = {
    YYYY: w.Y, YY: pad(w.Y % 100), MMMM: MONTHS[w.M - 1], MMM: MONTHS[w.M - 1].slice(0, 3), MM: pad(w.M), M: w.M,
    DD: pad(w.D), D: w.D, HH: pad(w.h), H: w.h, hh: pad(((w.h + 11) % 12) + 1), h: ((w.h + 11) % 12) + 1,
    mm: pad(w.m), ss: pad(w.s), SSS: pad(w.ms, 3), A: w.h < 12 ? 'AM' : 'PM', dddd: DAYS[w.wd], ddd: DAYS[w.wd].slice(0, 3),
  };
  return fmt.replace(/\[([^\]]*)\]|YYYY|YY|MMMM|MMM|MM|M|DD|D|dddd|ddd|HH|H|hh|h|mm|ss|SSS|A/g, (t, lit) => (lit !== undefined ? lit : String(map[t])));
}

function fromNow(ms) {
  const s = (Date.now() - ms) / 1000;
  const a = Math.abs(s);
  const [n, u] = a < 45 ? [0, 'a few seconds'] : a < 3600 ? [Math.round(a / 60), 'minute'] : a < 86400 ? [Math.round(a / 3600), 'hour'] : a < 2592000 ? [Math.round(a / 86400), 'day'] : a < 31536000 ? [Math.round(a / 2592000), 'month'] : [Math.round(a / 31536000), 'year'];
  const text = n ? `${n} ${u}${n === 1 ? '' : 's'}` : u;
  return s >= 0 ? `${text} ago` : `in ${text}`;
}

/* A number as the field's unit and decimals say (Grafana's unit ids). */
function formatNumber(v, cfg) {
  const d = cfg.decimals ?? undefined;
  const u = cfg.unit || '';
  if (u.startsWith('prefix:')) return u.slice(7) + fixed(v, d);
  if (u.startsWith('suffix:')) return fixed(v, d) + u.slice(7);
  if (u.startsWith('time:')) return formatTime(v, u.slice(5));
  if (u.startsWith('currency:')) return u.slice(9) + fixed(v, d ?? 2);
  if (SCALED[u]) return scaledBy(v, SCALED[u][0], SCALED[u][1], d, SCALED[u][2]);
  switch (u) {
    case 'percent': return `${fixed(v, d)}%`;
    case 'percentunit': return `${fixed(v * 100, d)}%`;
    case 'humidity': return `${fixed(v, d)}%H`;
    case 'short': return scaled(v, SHORT, d);
    case 'si': return scaled(v, SI, d);
    case 'none': case '': return fixed(v, d);
    case 'sci': return v.toExponential(d ?? 2);
    case 'hex': return Math.round(v).toString(16).toUpperCase();
    case 'hex0x': return `0x${Math.round(v).toString(16).toUpperCase()}`;
    case 'ns': return duration(v / 1e9, d);
    case 'µs': case 'us': return duration(v / 1e6, d);
    case 'ms': return duration(v / 1e3, d);
    case 's': return duration(v, d);
    case 'm': return duration(v * 60, d);
    case 'h': return duration(v * 3600, d);
    case 'd': return duration(v * 86400, d);
    case 'dtdurations': return longDuration(v);
    case 'dtdurationms': return longDuration(v / 1000);
    case 'dthms': { const a = Math.abs(Math.round(v)); return `${v < 0 ? '-' : ''}${pad(Math.floor(a / 3600))}:${pad(Math.floor(a / 60) % 60)}:${pad(a % 60)}`; }
    case 'clockms': case 'clocks': { const ms = u === 'clocks' ? v * 1000 : v; const a = Math.abs(Math.round(ms)); return `${pad(Math.floor(a / 3600000))}:${pad(Math.floor(a / 60000) % 60)}:${pad(Math.floor(a / 1000) % 60)}`; }
    case 'pps': return `${scaled(v, SI, d)} p/s`;
    case 'reqps': return `${scaled(v, SI, d)} req/s`;
    case 'rps': return `${scaled(v, SI, d)} rd/s`;
    case 'wps': return `${scaled(v, SI, d)} wr/s`;
    case 'iops': return `${scaled(v, SI, d)} io/s`;
    case 'ops': return `${scaled(v, SI, d)} ops/s`;
    case 'celsius': return `${fixed(v, d)}°C`;
    case 'fahrenheit': return `${fixed(v, d)}°F`;
    case 'currencyUSD': return `$${fixed(v, d ?? 2)}`;
    case 'currencyEUR': return `€${fixed(v, d ?? 2)}`;
    case 'currencyGBP': return `£${fixed(v, d ?? 2)}`;
    case 'locale': return v.toLocaleString(undefined, d != null ? { minimumFractionDigits: d, maximumFractionDigits: d } : {});
    case 'bool': return v ? 'true' : 'false';
    case 'dateTimeAsIso': case 'dateTimeAsSystem': return formatTime(v, 'YYYY-MM-DD HH:mm:ss');
    case 'dateTimeAsIsoNoDateIfToday': return formatTime(v, new Date(v).toDateString() === new Date().toDateString() ? 'HH:mm:ss' : 'YYYY-MM-DD HH:mm:ss');
    case 'dateTimeAsUS': return formatTime(v, 'MM/DD/YYYY h:mm:ss A');
    case 'dateTimeAsUSNoDateIfToday': return formatTime(v, 'MM/DD/YYYY h:mm:ss A');
    case 'dateTimeFromNow': return fromNow(v);
    default: return `${fixed(v, d)} ${u}`;
  }
}

/* ---- value mappings ---------------------------------------------------------------------- */

/* The mapping result for a value: {text, color} or null. Grafana 8+ form
 * (value, range, regex, special) and the older {type: 1|2} form. */
function mapValue(cfg, raw) {
  for (const m of cfg.mappings || []) {
    const o = m.options || {};
    if (m.type === 'value' && raw !== null && raw !== undefined && Object.prototype.hasOwnProperty.call(o, String(raw))) return o[String(raw)];
    if (m.type === 'value' && typeof raw === 'boolean' && o[String(raw)]) return o[String(raw)];
    if (m.type === 'range' && raw !== null && raw !== '' && !Number.isNaN(Number(raw))) {
      const v = Number(raw);
      if ((o.from === null || o.from === undefined || v >= o.from) && (o.to === null || o.to === undefined || v <= o.to)) return o.result;
    }
    if (m.type === 'regex' && raw !== null && raw !== undefined) {
      try {
        const re = new RegExp(o.pattern);
        if (re.test(String(raw))) return Object.assign({}, o.result, o.result && o.result.text !== undefined ? { text: String(raw).replace(re, o.result.text) } : {});
      } catch (e) { /* a bad pattern maps nothing, as in Grafana */ }
    }
    if (m.type === 'special') {
      const hit = { null: raw === null || raw === undefined, nan: typeof raw === 'number' && Number.isNaN(raw), 'null+nan': raw === null || raw === undefined || (typeof raw === 'number' && Number.isNaN(raw)), true: raw === true || raw === 'true', false: raw === false || raw === 'false', empty: raw === '' }[o.match];
      if (hit) return o.result;
    }
    if (m.type === 1 && raw !== null && String(raw) === String(m.value)) return { text: m.text };
    if (m.type === 2 && raw !== null && Number(raw) >= Number(m.from) && Number(raw) <= Number(m.to)) return { text: m.text };
  }
  return null;
}

/* A value shown with the field's mappings, unit and decimals; times as
 * dates. numeric: the field holds numbers (else text passes through). */
function formatValue(raw, cfg, numeric, type) {
  const m = mapValue(cfg, raw);
  if (m && m.text !== undefined && m.text !== '') return String(m.text);
  if (raw === null || raw === undefined) return cfg.noValue ?? 'null';
  if (type === 'time') return cfg.unit && cfg.unit !== 'time' ? formatNumber(Number(raw), cfg) : formatTime(raw, 'YYYY-MM-DD HH:mm:ss');
  const v = Number(raw);
  if (!numeric || raw === '' || typeof raw === 'boolean' || Number.isNaN(v)) return String(raw);
  return formatNumber(v, cfg);
}

/* The colour a value gets: thresholds (absolute or percent of min..max),
 * a fixed colour, or the classic palette by series index. */
function valueColor(cfg, v, index) {
  const m = mapValue(cfg, v);
  if (m && m.color) return color(m.color);
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

/* Dark or light text, whichever reads on a background (Grafana's
 * getTextColorForBackground). */
function textOn(bg) {
  const c = String(bg || '');
  let r, g, b;
  let m = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})/i.exec(c);
  if (m) [r, g, b] = [m[1], m[2], m[3]].map((x) => parseInt(x, 16));
  else if ((m = /rgba?\((\d+),\s*(\d+),\s*(\d+)/.exec(c))) [r, g, b] = [m[1], m[2], m[3]].map(Number);
  else return null;
  const lin = (v) => { v /= 255; return v <= 0.03928 ? v / 12.92 : ((v + 0.055) / 1.055) ** 2.4; };
  const lum = 0.2126 * lin(r) + 0.7152 * lin(g) + 0.0722 * lin(b);
  return lum > 0.179 ? '#111217' : '#ffffff';
}

/* ---- frames: what a panel query returns ---------------------------------------------- */

/* The fields of a frame (frames.js); an API frame {columns, rows} is read too. */
function fields(frame) {
  if (frame.fields) return frame.fields;
  return (frame.columns || []).map((c, i) => ({
    name: c.name, numeric: c.numeric, type: c.type || (c.numeric ? 'number' : 'string'),
    values: (frame.rows || []).map((r) => (c.numeric && r[i] !== null ? Number(r[i]) : r[i])),
  }));
}

/* Name/value pairs a stat, gauge, bar gauge or pie shows: one per row when
 * the panel shows all values (or a frame is a label column plus numbers),
 * else one per numeric field, reduced. */
/* reduceOptions.fields: "" (numeric fields), a name, or "/regex/" */
function fieldPicked(sel, f, frames) {
  if (!sel) return true;
  const m = /^\/(.*)\/([gimsuy]*)$/.exec(sel);
  const name = seriesName(f, frames);
  if (!m) return sel === f.name || sel === name;
  try { return new RegExp(m[1], m[2]).test(name); } catch (e) { return false; }
}

function pairs(panel, frames) {
  const ro = (panel.options && panel.options.reduceOptions) || {};
  const calc = (ro.calcs && ro.calcs[0]) || 'lastNotNull';
  const out = [];
  for (const f of frames) {
    const fs = fields(f);
    const label = fs.find((x) => x.type === 'string');
    const nums = fs.filter((x) => x.numeric && fieldPicked(ro.fields, x, frames));
    const perRow = ro.values === true || (ro.values === undefined && label && nums.length && panel.type !== 'stat' && panel.type !== 'gauge');
    for (const n of nums) {
      const cfg = fieldConfig(panel, [n.name, seriesName(n, frames)], true);
      if (perRow) {
        n.values.forEach((v, i) => out.push({ name: label ? String(label.values[i]) : displayName(cfg, n.name), value: v, cfg }));
      } else {
        out.push({ name: displayName(cfg, seriesName(n, frames)), value: reduceValues(n.values, calc), cfg });
      }
    }
  }
  const limit = ro.limit;
  return limit ? out.slice(0, limit) : out;
}

export { PALETTE, color, displayName, fieldConfig, fields, formatTime, formatValue, fromWall, hiddenFromViz, mapValue, pairs, setTimeZone, textOn, valueColor };
