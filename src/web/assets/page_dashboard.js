/* page_dashboard.js: the dashboards room: the list, a dashboard on the
 * 24-column grid, its variables in the URL, rows that open. */
import { clear, el, errorBox } from './dom.js';
import { api } from './api.js';
import { onLeave } from './nav.js';
import { DRAW, charts, drawText, interpolateText } from './panels.js';

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
  onLeave(() => { seq++; for (const c of charts) c.destroy(); charts.clear(); });
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

export { showDashboard, showDashboardList };
