/* frames.js: what a panel query returns, made into Grafana's data frames:
 * typed fields, time columns as epoch milliseconds, long time series
 * widened into one field per series, missing points filled; then the
 * panel's transformations, in order. A frame is {refId, fields, meta};
 * a field is {name, type, numeric, values, labels}. */

/* ---- from the API's rows ------------------------------------------------------------------ */

const TIME_RE = /^(\d{4})-(\d\d)-(\d\d)(?:[ T](\d\d):(\d\d)(?::(\d\d)(\.\d+)?)?)?\s*(Z|[+-]\d\d(?::?\d\d)?)?$/;

/* A database time as text ("2024-01-31 10:00:00.123+00", a date) to epoch
 * ms; without a zone it is UTC, as Grafana reads SQL timestamps. */
function parseTime(s) {
  const m = TIME_RE.exec(String(s).trim());
  if (!m) { const t = Date.parse(s); return Number.isNaN(t) ? null : t; }
  let ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +(m[4] || 0), +(m[5] || 0), +(m[6] || 0), m[7] ? Math.round(parseFloat(m[7]) * 1000) : 0);
  if (m[8] && m[8] !== 'Z') {
    const sign = m[8][0] === '-' ? -1 : 1;
    const digits = m[8].slice(1).replace(':', '');
    ms -= sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || 0)) * 60000;
  }
  return ms;
}

/* A number in a time column: epoch seconds, milliseconds, microseconds
 * or nanoseconds, told apart by size as Grafana does. */
function epochMs(v) {
  const a = Math.abs(v);
  if (a >= 1e17) return v / 1e6;
  if (a >= 1e14) return v / 1e3;
  if (a >= 1e11) return v;
  return v * 1000;
}

function toValue(type, v) {
  if (v === null || v === undefined) return null;
  if (type === 'number') { const n = Number(v); return Number.isNaN(n) ? null : n; }
  if (type === 'boolean') return v === 'true' || v === true;
  if (type === 'time') return parseTime(v);
  return v;
}

function makeField(name, type, values, labels) {
  return { name, type, numeric: type === 'number', values, labels: labels || null };
}

/* The API's {columns, rows} as a frame of typed fields. Columns named
 * "time" that hold numbers are epoch times (Grafana's SQL rule). */
function rawFrame(f) {
  const rows = f.rows || [];
  const fields = (f.columns || []).map((c, i) => {
    let type = c.type || (c.numeric ? 'number' : 'string');
    let values = rows.map((r) => toValue(type, r[i]));
    if (type === 'number' && /^time(_sec)?$/i.test(c.name)) {
      type = 'time';
      values = values.map((v) => (v === null ? null : epochMs(v)));
    }
    return makeField(c.name, type, values);
  });
  return { refId: f.refId, fields, meta: f.meta || {}, truncated: !!f.truncated, length: rows.length };
}

function frameLength(fr) { return fr.fields.length ? fr.fields[0].values.length : 0; }

/* ---- time series -------------------------------------------------------------------------- */

/* Long (time, label columns..., values) to wide: one time field, one field
 * per value column and set of labels, as Grafana's data.LongToWide. */
function longToWide(fr) {
  const time = fr.fields.find((f) => f.type === 'time');
  const labelsF = fr.fields.filter((f) => f.type === 'string');
  const valuesF = fr.fields.filter((f) => f !== time && f.type !== 'string');
  const n = time.values.length;
  const order = [...Array(n).keys()].sort((a, b) => time.values[a] - time.values[b]);
  const times = [];
  const timeIndex = new Map();
  const series = new Map(); /* "label set|value field" -> field */
  for (const i of order) {
    const t = time.values[i];
    if (!timeIndex.has(t)) { timeIndex.set(t, times.length); times.push(t); }
  }
  for (const i of order) {
    const labels = {};
    for (const l of labelsF) labels[l.name] = l.values[i] === null ? '' : String(l.values[i]);
    const key = JSON.stringify(labels);
    for (const v of valuesF) {
      const k = `${key}|${v.name}`;
      if (!series.has(k)) series.set(k, makeField(v.name, v.type, new Array(times.length).fill(null), labels));
      series.get(k).values[timeIndex.get(time.values[i])] = v.values[i];
    }
  }
  /* series in label order: the same on every engine, whatever order rows
   * of one time come in */
  const out = [...series.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)).map((e) => e[1]);
  /* Grafana 7's (time, metric, value): the series is named by metric */
  if (fr.fields.length === 3 && labelsF.length === 1 && labelsF[0].name === 'metric') {
    for (const f of out) { f.name = f.labels.metric; f.labels = null; }
  }
  return Object.assign({}, fr, { fields: [makeField('Time', 'time', times), ...out] });
}

/* Points missing between the range's ends, filled as $__timeGroup's
 * fill argument says (a value, NULL, or the previous value). */
function fillMissing(fr, fill, range) {
  const step = fill.interval_ms;
  const time = fr.fields.find((f) => f.type === 'time');
  if (!time || !step || !range) return fr;
  const at = new Map(time.values.map((t, i) => [t, i]));
  const start = Math.floor(range.from / step) * step;
  const times = [];
  for (let t = start; t <= range.to && times.length < 100000; t += step) times.push(t);
  for (const t of time.values) if (!times.includes(t)) times.push(t);
  times.sort((a, b) => a - b);
  const fields = fr.fields.map((f) => {
    if (f === time) return makeField(f.name, 'time', times);
    let prev = null;
    const values = times.map((t) => {
      if (at.has(t)) { const v = f.values[at.get(t)]; if (v !== null) prev = v; return v; }
      if (f.type !== 'number') return null;
      return fill.mode === 'value' ? fill.value : fill.mode === 'previous' ? prev : null;
    });
    return Object.assign({}, f, { values });
  });
  return Object.assign({}, fr, { fields });
}

/* An API frame as Grafana's SQL data source returns it: format table as
 * is; time_series (the default) widened and filled. A time series without
 * a time column is Grafana's error; with no format given it stays a table. */
function toFrame(apiFrame, range) {
  let fr = rawFrame(apiFrame);
  const format = fr.meta.format;
  if (format === 'table' || !fr.fields.length || !frameLength(fr)) return fr;
  const time = fr.fields.find((f) => f.type === 'time');
  if (!time) {
    if (format === 'time_series') fr.error = 'time column is missing; make sure your data includes a time column for time series format or switch to a table format that doesn\'t require it';
    return fr;
  }
  if (fr.fields.some((f) => f.type === 'string')) fr = longToWide(fr);
  else {
    const i = fr.fields.indexOf(time);
    fr.fields[i] = makeField('Time', 'time', time.values);
  }
  if (fr.meta.fill) fr = fillMissing(fr, fr.meta.fill, range);
  return fr;
}

/* ---- names -------------------------------------------------------------------------------- */

function formatLabels(labels) {
  return `{${Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(', ')}}`;
}

/* A field's name as Grafana shows it: labels make the name, alone when
 * one label tells the series apart, else after the field's name. */
function seriesName(field, frames) {
  if (!field.labels || !Object.keys(field.labels).length) return field.name;
  const keys = new Set();
  const names = new Set();
  for (const fr of frames) for (const f of fr.fields) {
    if (f.labels) Object.keys(f.labels).forEach((k) => keys.add(k));
    if (f.type !== 'time') names.add(f.name);
  }
  const lab = keys.size === 1 ? field.labels[[...keys][0]] : formatLabels(field.labels);
  return names.size > 1 ? `${field.name} ${lab}` : lab;
}

/* ---- reducers ----------------------------------------------------------------------------- */

const REDUCER_NAMES = {
  lastNotNull: 'Last *', last: 'Last', firstNotNull: 'First *', first: 'First', sum: 'Total',
  mean: 'Mean', max: 'Max', min: 'Min', count: 'Count', range: 'Range', delta: 'Delta',
  diff: 'Difference', stdDev: 'StdDev', variance: 'Variance', median: 'Median',
  distinctCount: 'Distinct Count', changeCount: 'Change Count', allIsNull: 'All nulls',
  allIsZero: 'All zeros', uniqueValues: 'All unique values', allValues: 'All values',
};

function reduceValues(values, calc) {
  const all = values.filter((v) => v !== undefined);
  const nn = all.filter((v) => v !== null && !(typeof v === 'number' && Number.isNaN(v)));
  const nums = nn.map(Number).filter((v) => !Number.isNaN(v));
  const sum = nums.reduce((a, b) => a + b, 0);
  switch (calc) {
    case 'first': return all.length ? all[0] : null;
    case 'firstNotNull': return nn.length ? nn[0] : null;
    case 'last': return all.length ? all[all.length - 1] : null;
    case 'sum': return nums.length ? sum : null;
    case 'mean': case 'avg': return nums.length ? sum / nums.length : null;
    case 'max': return nums.length ? Math.max(...nums) : null;
    case 'min': return nums.length ? Math.min(...nums) : null;
    case 'count': return all.length;
    case 'range': return nums.length ? Math.max(...nums) - Math.min(...nums) : null;
    case 'delta': { let d = 0; for (let i = 1; i < nums.length; i++) if (nums[i] > nums[i - 1]) d += nums[i] - nums[i - 1]; return nums.length ? d : null; }
    case 'diff': return nums.length ? nums[nums.length - 1] - nums[0] : null;
    case 'variance': case 'stdDev': {
      if (!nums.length) return null;
      const m = sum / nums.length;
      const v = nums.reduce((a, b) => a + (b - m) * (b - m), 0) / nums.length;
      return calc === 'variance' ? v : Math.sqrt(v);
    }
    case 'median': { if (!nums.length) return null; const s = [...nums].sort((a, b) => a - b); const h = s.length >> 1; return s.length % 2 ? s[h] : (s[h - 1] + s[h]) / 2; }
    case 'distinctCount': return new Set(nn).size;
    case 'changeCount': { let c = 0; for (let i = 1; i < all.length; i++) if (all[i] !== all[i - 1]) c++; return c; }
    case 'allIsNull': return nn.length === 0;
    case 'allIsZero': return nums.length > 0 && nums.every((v) => v === 0);
    default: return nn.length ? nn[nn.length - 1] : null; /* lastNotNull */
  }
}

/* ---- transformations ---------------------------------------------------------------------- */

function nameMatches(matcher, name) {
  if (!matcher) return false;
  if (matcher.names && matcher.names.includes(name)) return true;
  if (matcher.pattern) { try { return new RegExp(matcher.pattern).test(name); } catch (e) { return false; } }
  return false;
}

function withFields(fr, fields) { return Object.assign({}, fr, { fields }); }

/* rows of a frame as objects by field name */
function rowsOf(fr) {
  const n = frameLength(fr);
  const out = [];
  for (let i = 0; i < n; i++) { const r = {}; for (const f of fr.fields) r[f.name] = f.values[i]; out.push(r); }
  return out;
}

function fromRows(template, rows, names) {
  return names.map((name) => {
    const t = template.find((f) => f.name === name) || { type: 'string' };
    return makeField(name, t.type, rows.map((r) => (r[name] === undefined ? null : r[name])), t.labels);
  });
}

const T = {
  organize(frames, o) {
    const ex = o.excludeByName || {}, idx = o.indexByName || {}, ren = o.renameByName || {};
    return frames.map((fr) => {
      const kept = fr.fields.filter((f) => !ex[f.name]);
      if (Object.keys(idx).length) kept.sort((a, b) => (idx[a.name] ?? 1e9) - (idx[b.name] ?? 1e9));
      return withFields(fr, kept.map((f) => (ren[f.name] ? Object.assign({}, f, { name: ren[f.name], labels: null }) : f)));
    });
  },
  filterFieldsByName(frames, o) {
    return frames.map((fr) => withFields(fr, fr.fields.filter((f) =>
      (!o.include || nameMatches(o.include, f.name) || (o.byVariable && false)) && !(o.exclude && nameMatches(o.exclude, f.name)))));
  },
  merge(frames) {
    if (frames.length < 2) return frames;
    const names = [];
    for (const fr of frames) for (const f of fr.fields) if (!names.includes(f.name)) names.push(f.name);
    const common = names.filter((n) => frames.every((fr) => fr.fields.some((f) => f.name === n)));
    const keyed = new Map();
    const rows = [];
    for (const fr of frames) for (const r of rowsOf(fr)) {
      const key = common.length ? JSON.stringify(common.map((n) => r[n])) : null;
      const hit = key !== null && keyed.get(key);
      if (hit && Object.keys(r).every((k) => common.includes(k) || hit[k] === undefined || hit[k] === null)) Object.assign(hit, r);
      else { rows.push(r); if (key !== null && !hit) keyed.set(key, r); }
    }
    return [withFields(frames[0], fromRows(frames.flatMap((fr) => fr.fields), rows, names))];
  },
  reduce(frames, o) {
    const calcs = o.reducers && o.reducers.length ? o.reducers : ['lastNotNull'];
    if (o.mode === 'reduceFields') {
      return frames.map((fr) => withFields(fr, fr.fields
        .filter((f) => f.type !== 'time' || o.includeTimeField)
        .map((f) => Object.assign({}, f, { values: [f.type === 'number' ? reduceValues(f.values, calcs[0]) : reduceValues(f.values, 'lastNotNull')] }))));
    }
    const names = [], cols = calcs.map(() => []);
    for (const fr of frames) for (const f of fr.fields) {
      if (f.type !== 'number' && !(o.includeTimeField && f.type === 'time')) continue;
      names.push(seriesName(f, frames));
      calcs.forEach((c, i) => cols[i].push(reduceValues(f.values, c)));
    }
    return [{ refId: frames[0] && frames[0].refId, meta: {}, fields: [makeField('Field', 'string', names),
      ...calcs.map((c, i) => makeField(REDUCER_NAMES[c] || c, 'number', cols[i]))] }];
  },
  calculateField(frames, o) {
    const mode = o.mode || 'reduceRow';
    return frames.map((fr) => {
      const n = frameLength(fr);
      let name, values;
      const byName = (x) => fr.fields.find((f) => f.name === x || seriesName(f, frames) === x);
      const operand = (x) => {
        if (x && typeof x === 'object') x = x.matcher ? x.matcher.options : x.fixed;
        const f = byName(x);
        if (f) return (i) => f.values[i];
        const c = Number(x);
        return () => c;
      };
      if (mode === 'binary') {
        const b = o.binary || {};
        const l = operand(b.left), r = operand(b.right), op = b.operator || '+';
        const show = (x) => (x && typeof x === 'object' ? (x.matcher ? x.matcher.options : x.fixed) : x);
        name = `${show(b.left)} ${op} ${show(b.right)}`;
        values = [...Array(n).keys()].map((i) => {
          const a = l(i), c = r(i);
          if (a === null || c === null || a === undefined || c === undefined) return null;
          switch (op) { case '-': return a - c; case '*': return a * c; case '/': return a / c; case '%': return a % c; case '^': return a ** c; default: return a + c; }
        });
      } else if (mode === 'index') {
        name = 'Row';
        values = [...Array(n).keys()].map((i) => (o.index && o.index.asPercentile ? i / n : i));
      } else {
        const red = o.reduce || {};
        const calc = red.reducer || 'sum';
        const inc = red.include && red.include.length ? red.include : null;
        const use = fr.fields.filter((f) => f.type === 'number' && (!inc || inc.includes(f.name) || inc.includes(seriesName(f, frames))));
        name = REDUCER_NAMES[calc] || calc;
        values = [...Array(n).keys()].map((i) => reduceValues(use.map((f) => f.values[i]), calc));
      }
      const field = makeField(o.alias || name, 'number', values);
      const keep = o.replaceFields ? fr.fields.filter((f) => f.type === 'time') : fr.fields;
      return withFields(fr, [...keep, field]);
    });
  },
  groupBy(frames, o) {
    const spec = o.fields || {};
    return frames.map((fr) => {
      const keys = fr.fields.filter((f) => spec[f.name] && spec[f.name].operation === 'groupby');
      const aggs = fr.fields.filter((f) => spec[f.name] && spec[f.name].operation === 'aggregate');
      if (!keys.length) return fr;
      const groups = new Map();
      for (let i = 0; i < frameLength(fr); i++) {
        const k = JSON.stringify(keys.map((f) => f.values[i]));
        if (!groups.has(k)) groups.set(k, []);
        groups.get(k).push(i);
      }
      const out = keys.map((f) => makeField(f.name, f.type, [...groups.values()].map((ix) => f.values[ix[0]])));
      for (const f of aggs) for (const c of spec[f.name].aggregations || []) {
        out.push(makeField(`${f.name} (${c})`, 'number', [...groups.values()].map((ix) => reduceValues(ix.map((i) => f.values[i]), c))));
      }
      return withFields(fr, out);
    });
  },
  sortBy(frames, o) {
    const s = (o.sort && o.sort[0]) || {};
    return frames.map((fr) => {
      const f = fr.fields.find((x) => x.name === s.field || seriesName(x, frames) === s.field);
      if (!f) return fr;
      const ix = [...Array(frameLength(fr)).keys()].sort((a, b) => {
        const x = f.values[a], y = f.values[b];
        const c = x === null ? 1 : y === null ? -1 : x < y ? -1 : x > y ? 1 : 0;
        return s.desc ? -c : c;
      });
      return withFields(fr, fr.fields.map((x) => Object.assign({}, x, { values: ix.map((i) => x.values[i]) })));
    });
  },
  joinByField(frames, o) {
    if (frames.length < 2) return frames;
    const by = o.byField;
    const keyOf = (fr) => fr.fields.find((f) => (by ? f.name === by : f.type === 'time'));
    const inner = o.mode === 'inner';
    const keys = [];
    const maps = frames.map((fr) => {
      const k = keyOf(fr);
      const m = new Map();
      if (k) k.values.forEach((v, i) => { m.set(v, i); if (!keys.includes(v)) keys.push(v); });
      return m;
    });
    const use = keys.filter((v) => !inner || maps.every((m) => m.has(v)));
    const first = keyOf(frames[0]) || keyOf(frames.find(keyOf));
    if (!first) return frames;
    if (first.type === 'time' || first.type === 'number') use.sort((a, b) => a - b);
    const fields = [makeField(first.name, first.type, use)];
    frames.forEach((fr, j) => {
      const k = keyOf(fr);
      for (const f of fr.fields) if (f !== k) {
        fields.push(Object.assign({}, f, { values: use.map((v) => (maps[j].has(v) ? f.values[maps[j].get(v)] : null)) }));
      }
    });
    return [withFields(frames[0], fields)];
  },
  seriesToRows(frames) {
    const rows = [];
    for (const fr of frames) {
      const t = fr.fields.find((f) => f.type === 'time');
      if (!t) continue;
      for (const f of fr.fields) if (f !== t && f.type === 'number') {
        const name = seriesName(f, frames);
        t.values.forEach((tv, i) => rows.push([tv, name, f.values[i]]));
      }
    }
    rows.sort((a, b) => b[0] - a[0]);
    return [{ refId: frames[0] && frames[0].refId, meta: {}, fields: [
      makeField('Time', 'time', rows.map((r) => r[0])), makeField('Metric', 'string', rows.map((r) => r[1])),
      makeField('Value', 'number', rows.map((r) => r[2]))] }];
  },
  limit(frames, o) {
    const n = o.limitField ?? 10;
    return frames.map((fr) => withFields(fr, fr.fields.map((f) => Object.assign({}, f, { values: f.values.slice(0, n) }))));
  },
  renameByRegex(frames, o) {
    let re;
    try { re = new RegExp(o.regex); } catch (e) { return frames; }
    return frames.map((fr) => withFields(fr, fr.fields.map((f) => Object.assign({}, f, { name: seriesName(f, frames).replace(re, o.renamePattern || ''), labels: null }))));
  },
  filterByRefId(frames, o) {
    const inc = o.include ? String(o.include).split('|') : null;
    return inc ? frames.filter((fr) => inc.includes(fr.refId)) : frames;
  },
};

/* The frames on one time axis (outer join on time); null with none. */
function joinByTime(frames) {
  if (!frames.length) return null;
  return frames.length === 1 ? frames[0] : T.joinByField(frames, {})[0];
}

/* The panel's transformations over its frames; the ones not done here
 * are named in warnings (Grafana would apply them). */
function transform(frames, list, warnings) {
  let out = frames;
  for (const t of list || []) {
    if (t.disabled) continue;
    const fn = T[t.id];
    if (!fn) { warnings.push(`transformation "${t.id}" is not applied here`); continue; }
    out = fn(out, t.options || {});
  }
  return out;
}

export { epochMs, frameLength, joinByTime, parseTime, reduceValues, REDUCER_NAMES, seriesName, toFrame, transform };
