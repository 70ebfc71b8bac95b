/* migrate.js: older panel models read as Grafana's own migration reads
 * them when it opens an old dashboard: graph (flot) to time series,
 * singlestat to stat, the old table's styles to field overrides. */

const CALC = { avg: 'mean', current: 'lastNotNull', total: 'sum', max: 'max', min: 'min', first: 'firstNotNull', delta: 'delta', diff: 'diff', range: 'range', count: 'count' };

const num = (v) => (v === null || v === undefined || v === '' ? undefined : Number(v));

function graph(p) {
  const y = (p.yaxes && p.yaxes[0]) || {};
  const lg = p.legend || {};
  const custom = {
    lineWidth: p.linewidth ?? 1,
    fillOpacity: (p.fill ?? 1) * 10,
    showPoints: p.points ? 'always' : 'never',
    drawStyle: p.bars ? 'bars' : p.lines === false && p.points ? 'points' : 'line',
    spanNulls: p.nullPointMode === 'connected',
    stacking: { mode: p.stack ? (p.percentage ? 'percent' : 'normal') : 'none' },
    lineInterpolation: p.steppedLine ? 'stepAfter' : 'linear',
  };
  const defaults = Object.assign({ unit: y.format || 'short', min: num(y.min), max: num(y.max), decimals: num(y.decimals), custom },
    (p.fieldConfig && p.fieldConfig.defaults) || {});
  defaults.custom = Object.assign(custom, ((p.fieldConfig || {}).defaults || {}).custom || {});
  const overrides = [...((p.fieldConfig && p.fieldConfig.overrides) || [])];
  for (const [name, c] of Object.entries(p.aliasColors || {})) {
    overrides.push({ matcher: { id: 'byName', options: name }, properties: [{ id: 'color', value: { mode: 'fixed', fixedColor: c } }] });
  }
  const calcs = lg.values ? Object.keys(CALC).filter((k) => lg[k]).map((k) => CALC[k]) : [];
  const legend = { showLegend: lg.show !== false, displayMode: lg.alignAsTable ? 'table' : 'list', placement: lg.rightSide ? 'right' : 'bottom', calcs };
  return Object.assign({}, p, {
    fieldConfig: { defaults, overrides },
    options: Object.assign({ legend, tooltip: { mode: p.tooltip && p.tooltip.shared === false ? 'single' : 'multi' } }, p.options || {}),
  });
}

/* "50,80" and three colours to threshold steps */
function steps(thresholds, colors) {
  const vals = String(thresholds || '').split(',').map((x) => x.trim()).filter((x) => x !== '').map(Number);
  const cs = colors || ['green', 'orange', 'red'];
  return [{ value: null, color: cs[0] }, ...vals.map((v, i) => ({ value: v, color: cs[i + 1] || cs[cs.length - 1] }))];
}

function singlestat(p) {
  const mappings = (p.valueMaps || []).filter((m) => m.op === '=' || m.op === undefined)
    .map((m) => ({ type: 'value', options: { [m.value]: { text: m.text } } }));
  const defaults = {
    unit: p.format || 'none', decimals: num(p.decimals), mappings,
    thresholds: { mode: 'absolute', steps: steps(p.thresholds, p.colors) },
    color: { mode: p.colorValue || p.colorBackground ? 'thresholds' : 'fixed', fixedColor: 'text' },
  };
  return Object.assign({}, p, {
    type: 'stat',
    fieldConfig: { defaults, overrides: [] },
    options: { reduceOptions: { calcs: [CALC[p.valueName] || 'mean'], values: false }, colorMode: p.colorBackground ? 'background' : 'value' },
  });
}

function setPath(obj, path, value) {
  const keys = path.split('.');
  let t = obj;
  for (const k of keys.slice(0, -1)) t = t[k] = t[k] || {};
  t[keys[keys.length - 1]] = value;
}

/* The old table's styles (pattern: a name or /regex/) as overrides. */
function tableStyles(p) {
  const overrides = [...((p.fieldConfig && p.fieldConfig.overrides) || [])];
  const defaults = Object.assign({ custom: {} }, (p.fieldConfig && p.fieldConfig.defaults) || {});
  for (const s of p.styles || []) {
    const props = [];
    if (s.alias) props.push({ id: 'displayName', value: s.alias });
    if (s.type === 'date') props.push({ id: 'unit', value: `time: ${s.dateFormat || 'YYYY-MM-DD HH:mm:ss'}` });
    else if (s.type === 'number' && s.unit) props.push({ id: 'unit', value: s.unit });
    if (s.type === 'number' && s.decimals !== undefined && s.decimals !== null) props.push({ id: 'decimals', value: Number(s.decimals) });
    if (s.type === 'hidden') props.push({ id: 'custom.hidden', value: true });
    if (s.colorMode && s.thresholds && s.thresholds.length) {
      props.push({ id: 'thresholds', value: { mode: 'absolute', steps: steps(s.thresholds.join(','), s.colors) } });
      props.push({ id: 'custom.cellOptions', value: { type: s.colorMode === 'cell' ? 'color-background' : 'color-text' } });
    }
    if (s.mappingType === 1 && s.valueMaps) props.push({ id: 'mappings', value: s.valueMaps.map((m) => ({ type: 'value', options: { [m.value]: { text: m.text } } })) });
    const m = /^\/(.*)\/$/.exec(s.pattern || '');
    if (m && m[1] === '.*') { for (const x of props) setPath(defaults, x.id, x.value); continue; }
    overrides.push({ matcher: m ? { id: 'byRegexp', options: m[1] } : { id: 'byName', options: s.pattern }, properties: props });
  }
  return Object.assign({}, p, { fieldConfig: { defaults, overrides } });
}

function migratePanel(p) {
  if (p.type === 'graph') return graph(p);
  if (p.type === 'singlestat' || p.type === 'grafana-singlestat-panel') return singlestat(p);
  if ((p.type === 'table' || p.type === 'table-old') && Array.isArray(p.styles)) return Object.assign(tableStyles(p), { type: 'table' });
  return p;
}

export { migratePanel };
