/* page_pipeline.js: the pipeline room, as Mage and Dagster show a run: the
 * DAG coloured by the run being viewed (or the one going), a run started
 * here seen live (blocks changing state, their rows and logs, Cancel), a
 * failed block's error at the top, a timeline (Gantt) of a run's blocks,
 * duration and rows across runs, re-running the failed blocks or from a
 * block, the schedule with a pause toggle, and the dbt models' lineage
 * with each model's SQL, compiled SQL, columns and tests. */
import { clear, duration, el, errorBox, localTime, statusBadge, utc } from './dom.js';
import { api } from './api.js';
import { go, onLeave } from './nav.js';
import { charts } from './panels.js';

const FILL = { completed: '#1f5130', success: '#1f5130', pass: '#1f5130', failed: '#6b1d27', error: '#6b1d27', fail: '#6b1d27',
  upstream_failed: '#6b1d27', cancelled: '#6b1d27', running: '#2c4f8c', queued: '#3a3d44', skipped: '#2a3d45', warn: '#6b5a1d' };

/* ---- a DAG (blocks or models) in columns by depth, edges as curves --------------------------- */

function drawGraph(nodes, opts) {
  const idx = new Map(nodes.map((b, i) => [b.id, i]));
  const depth = new Array(nodes.length).fill(-1);
  const d = (i, seen) => {
    if (depth[i] >= 0) return depth[i];
    if (seen.has(i)) return 0;
    seen.add(i);
    let m = 0;
    for (const u of nodes[i].up) if (idx.has(u)) m = Math.max(m, d(idx.get(u), seen) + 1);
    return (depth[i] = m);
  };
  nodes.forEach((b, i) => d(i, new Set()));
  const cols = [];
  nodes.forEach((b, i) => (cols[depth[i]] = cols[depth[i]] || []).push(i));
  const NW = opts.width || 150, NH = 48, GX = 36, GY = 14;
  const pos = [];
  cols.forEach((c, ci) => c.forEach((i, k) => (pos[i] = { x: 16 + ci * (NW + GX), y: 16 + k * (NH + GY) })));
  const W = 32 + Math.max(1, cols.length) * (NW + GX) - GX;
  const H = 32 + Math.max(1, ...cols.map((c) => c.length)) * (NH + GY) - GY;
  const svg = el('svg:svg', { width: W, height: H, viewBox: `0 0 ${W} ${H}`, id: opts.id, role: 'group', 'aria-label': opts.label });
  nodes.forEach((b, i) => {
    for (const u of b.up) {
      if (!idx.has(u)) continue;
      const a = pos[idx.get(u)], z = pos[i];
      const x1 = a.x + NW, y1 = a.y + NH / 2, x2 = z.x, y2 = z.y + NH / 2, mx = (x1 + x2) / 2;
      svg.append(el('svg:path', { class: 'edge', d: `M ${x1} ${y1} C ${mx} ${y1}, ${mx} ${y2}, ${x2} ${y2}` }));
    }
  });
  nodes.forEach((b, i) => {
    const name = b.label.length > 19 ? `${b.label.slice(0, 18)}…` : b.label;
    const g = el('svg:g', { class: 'node', 'data-block': b.id, 'data-status': b.status || 'none', transform: `translate(${pos[i].x},${pos[i].y})`,
      tabindex: b.onclick ? 0 : null, role: b.onclick ? 'button' : null },
    el('svg:title', {}, b.title),
    el('svg:rect', { width: NW, height: NH, rx: 6, fill: FILL[b.status] || '#2a2d33' }),
    el('svg:text', { x: 10, y: 20, 'font-size': 13, 'font-weight': 600 }, name),
    el('svg:text', { x: 10, y: 38, 'font-size': 11, opacity: 0.75 }, b.sub));
    if (b.onclick) {
      g.addEventListener('click', b.onclick);
      g.addEventListener('keydown', (e) => { if (e.key === 'Enter' || e.key === ' ') { e.preventDefault(); b.onclick(); } });
    }
    svg.append(g);
  });
  return svg;
}

/* the pipeline's blocks, each with the status the view gives it */
function blockGraph(pl, statusOf) {
  return drawGraph(pl.blocks.map((b) => {
    const st = statusOf(b);
    return {
      id: b.name, label: b.name, up: b.upstream, status: st, sub: `${b.type} · ${st || 'never run'}`,
      title: `${b.name} (${b.type}): ${st || 'never run'}`,
      onclick: b.type === 'dbt' || b.type === 'test' ? () => go('/pipeline/models') : null,
    };
  }), { id: 'dag', label: 'Blocks of the pipeline' });
}

/* ---- the room --------------------------------------------------------------------------------- */

async function showPipeline(m, runMatch) {
  let timer = null;
  onLeave(() => { if (timer) clearTimeout(timer); timer = null; for (const c of charts) c.destroy(); charts.clear(); });
  const path = location.pathname;
  const modelMatch = path.match(/^\/pipeline\/models(?:\/(.+))?$/);
  const [pl, sched, health] = await Promise.all([
    api('/api/pipeline'), api('/api/schedule').catch(() => ({})), api('/api/health')]);
  const targetSel = el('select', { id: 'run-target', 'aria-label': 'Target' }, el('option', { value: health.target }, health.target));
  const runBtn = el('button', { class: 'primary', id: 'run-now', type: 'button' }, 'Run now');
  const cancelBtn = el('button', { id: 'run-cancel', type: 'button', hidden: true }, 'Cancel the run');
  const fullBox = el('input', { type: 'checkbox', id: 'full-refresh' });
  const note = el('span', { id: 'run-note', class: 'muted', role: 'status' });
  const schedBox = el('span', { class: 'muted', id: 'schedule' });
  m.append(el('h1', {}, `Pipeline ${pl.name || ''}`),
    el('div', { class: 'bar' }, runBtn, cancelBtn, el('label', { title: 'run every block, unchanged inputs or not' }, fullBox, ' full refresh'),
      el('label', {}, 'target ', targetSel), note, schedBox,
      el('a', { href: '/pipeline/models', 'data-nav': true }, 'dbt models'), el('span', { class: 'muted' }, pl.file)));
  drawSchedule(schedBox, sched);
  const dagBox = el('div', { class: 'dag' });
  const liveBox = el('section', { id: 'live', 'aria-label': 'The run going' });
  const runsBox = el('div', { id: 'runs' });
  const trendBox = el('div', { id: 'trends', class: 'trends' });
  const detail = el('div', { id: 'run-detail' });
  m.append(dagBox, liveBox);
  if (modelMatch) {
    const box = el('div', { id: 'models' });
    m.append(box);
    await showModels(box, modelMatch[1] ? decodeURIComponent(modelMatch[1]) : null);
    clear(dagBox).append(blockGraph(pl, (b) => b.last && b.last.status));
    return;
  }
  m.append(el('h2', {}, 'Runs'), runsBox, trendBox, detail);

  let viewed = null; /* the block runs of the run shown below, for the DAG */
  const drawDag = (live) => {
    const byLive = live && live.blocks;
    clear(dagBox).append(blockGraph(pl, (b) => {
      if (byLive && byLive[b.name]) return byLive[b.name].status;
      if (viewed) return viewed.get(b.name) || 'not run';
      return b.last && b.last.status;
    }));
  };
  const refresh = async () => {
    const runs = await api('/api/runs').catch((e) => e);
    clear(runsBox);
    if (runs instanceof Error) { runsBox.append(el('p', { class: 'muted' }, runs.status === 503 ? runs.message : `No run history yet (${runs.message})`)); return; }
    runsBox.append(runsTable(runs));
    drawTrends(trendBox).catch(() => {});
  };
  /* the run started here, seen live until it ends */
  const poll = async () => {
    const lv = await api('/api/live').catch(() => ({}));
    const going = !!lv.running;
    runBtn.disabled = going;
    cancelBtn.hidden = !going;
    cancelBtn.disabled = !!lv.cancelling;
    note.textContent = going ? (lv.cancelling ? 'cancelling…' : 'a run is in progress…') : '';
    if (lv.run) drawLive(liveBox, lv.run, going);
    drawDag(going ? lv.run : null);
    if (going) { timer = setTimeout(poll, 700); return; }
    timer = null;
    await refresh();
  };
  const start = async (body) => {
    runBtn.disabled = true;
    try {
      await api('/api/runs', Object.assign({ target: targetSel.value, full_refresh: fullBox.checked }, body || {}));
      note.textContent = 'run started…';
      if (timer) clearTimeout(timer);
      timer = setTimeout(poll, 300);
    } catch (e) {
      note.textContent = e.message;
      runBtn.disabled = false;
    }
  };
  runBtn.addEventListener('click', () => start());
  cancelBtn.addEventListener('click', async () => {
    cancelBtn.disabled = true;
    try { await api('/api/runs/cancel', {}); note.textContent = 'cancelling…'; } catch (e) { note.textContent = e.message; }
  });
  drawDag(null);
  await refresh().catch((e) => runsBox.append(errorBox(e.message)));
  const lv = await api('/api/live').catch(() => ({}));
  if (lv.running) poll();
  else if (lv.run && lv.run.status === 'not started') drawLive(liveBox, lv.run, false);
  if (runMatch) {
    viewed = await showRun(detail, runMatch[1], pl, start).catch((e) => { detail.append(errorBox(e.message)); return null; });
    if (!lv.running) drawDag(null);
  }
}

function drawSchedule(box, sched) {
  clear(box);
  const next = sched.enabled ? (sched.paused ? 'paused' : `next run ${new Date(sched.next_run).toLocaleString()}`)
    : sched.schedule ? `not scheduled here: ${sched.disabled_because}` : 'no schedule';
  box.append(`schedule: ${sched.schedule || 'none'} · ${next} `);
  if (!sched.enabled) return;
  const b = el('button', { type: 'button', id: 'schedule-toggle', 'aria-pressed': String(!!sched.paused) }, sched.paused ? 'Resume the schedule' : 'Pause the schedule');
  b.addEventListener('click', async () => {
    try { drawSchedule(box, await api('/api/schedule', { paused: !sched.paused })); } catch (e) { box.append(errorBox(e.message)); }
  });
  box.append(b);
}

/* The live run: the failing block's error first, then each block. */
function drawLive(box, run, going) {
  clear(box);
  if (run.status === 'not started') { box.append(errorBox(`The run did not start: ${run.error}`)); return; }
  const blocks = (run.order || []).map((n) => [n, run.blocks[n]]).filter(([, b]) => b.status !== 'not selected');
  const failed = blocks.find(([, b]) => b.status === 'failed');
  box.append(el('h2', {}, `Run #${run.run_id} `, statusBadge(going ? 'running' : run.status), going ? ` ${((Date.now() - run.started_ms) / 1000).toFixed(0)} s` : ''));
  if (failed) box.append(errorBox(`${failed[0]} failed: ${failed[1].error || ''}`));
  const logBox = el('div');
  box.append(el('table', { class: 'data runs', id: 'live-blocks' },
    el('thead', {}, el('tr', {}, ['Block', 'Type', 'Status', 'Time', 'Rows in', 'Rows out', 'Note'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, blocks.map(([name, b]) => {
      const open = el('button', { type: 'button', class: 'linkish', disabled: !b.log && !b.log_tail, 'aria-label': `Log of ${name}` }, name);
      open.addEventListener('click', () => clear(logBox).append(el('h3', {}, `Log of ${name}`), el('pre', { class: 'log' }, b.log || b.log_tail || '')));
      return el('tr', { 'data-block': name, 'data-status': b.status },
        el('td', {}, open), el('td', {}, b.type), el('td', {}, statusBadge(b.status)),
        el('td', { class: 'num' }, b.elapsed !== undefined ? `${Number(b.elapsed).toFixed(2)} s` : ''),
        el('td', { class: 'num' }, b.rows_in ?? ''), el('td', { class: 'num' }, b.rows_out ?? ''),
        el('td', { class: 'error' }, b.error || b.note || ''));
    }))), logBox);
  /* the log of the block running now, its last lines as they come */
  const running = blocks.find(([, b]) => b.status === 'running' && b.log_tail);
  if (going && running) logBox.append(el('h3', {}, `Log of ${running[0]} (live, the last lines)`), el('pre', { class: 'log', id: 'live-log' }, running[1].log_tail));
}

function runsTable(runs) {
  const cols = Object.fromEntries(runs.columns.map((c, i) => [c.name, i]));
  if (!runs.rows.length) return el('p', { class: 'muted' }, 'No runs yet: press Run now, or run `bookpipe run`.');
  return el('table', { class: 'data runs' },
    el('thead', {}, el('tr', {}, ['Run', 'Status', 'Trigger', 'Started', 'Duration', 'Pipeline'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, runs.rows.map((r) => {
      const id = r[cols.run_id];
      return el('tr', { 'data-run': id, onclick: () => go(`/pipeline/runs/${id}`) },
        el('td', {}, el('a', { href: `/pipeline/runs/${id}`, 'data-nav': true }, `#${id}`)),
        el('td', {}, statusBadge(r[cols.status])), el('td', { class: 'trigger' }, r[cols.trigger]),
        el('td', {}, localTime(r[cols.started_at])), el('td', {}, duration(r[cols.started_at], r[cols.ended_at])),
        el('td', {}, r[cols.pipeline]));
    })));
}

/* Duration and rows written across runs (oldest to newest). */
async function drawTrends(box) {
  const t = await api('/api/runs/trends');
  const c = Object.fromEntries(t.columns.map((x, i) => [x.name, i]));
  const rows = [...t.rows].reverse();
  clear(box);
  if (rows.length < 2) return;
  const val = (r, key) => (r[c[key]] === null ? null : Number(r[c[key]]));
  const byStatus = rows.map((r) => (r[c.status] === 'completed' ? '#73bf69' : '#f2495c'));
  const charts2 = [
    ['Run duration (s)', 'trend-duration', [{ label: 'seconds', data: rows.map((r) => val(r, 'seconds')), backgroundColor: byStatus }]],
    ['Rows read and written per run', 'trend-rows', [
      { label: 'rows in', data: rows.map((r) => val(r, 'rows_in')), backgroundColor: '#5794f2' },
      { label: 'rows out', data: rows.map((r) => val(r, 'rows_out')), backgroundColor: '#73bf69' }]],
  ];
  for (const [label, id, datasets] of charts2) {
    const canvas = el('canvas', { id, role: 'img', 'aria-label': `${label} across ${rows.length} runs` });
    box.append(el('div', { class: 'trend' }, el('h3', {}, label), el('div', { class: 'trend-chart' }, canvas)));
    charts.add(new window.Chart(canvas, {
      type: 'bar',
      data: { labels: rows.map((r) => `#${r[c.run_id]}`), datasets },
      options: { responsive: true, maintainAspectRatio: false, animation: false, plugins: { legend: { display: datasets.length > 1 } } },
    }));
  }
}

/* Blocks or dbt nodes on a time axis (a node's row is marked). */
function ganttOf(all, id, what) {
  const spans = all.filter((x) => x.s);
  if (!spans.length) return null;
  const t0 = Math.min(...spans.map((x) => x.s.getTime()));
  const t1 = Math.max(...spans.map((x) => (x.e || x.s).getTime()), t0 + 1);
  const W = 720, L = 150, RH = 20;
  const svg = el('svg:svg', { width: '100%', viewBox: `0 0 ${W} ${spans.length * RH + 24}`, id, class: 'gantt', role: 'img', 'aria-label': `Timeline of ${spans.length} ${what} over ${((t1 - t0) / 1000).toFixed(1)} s` });
  spans.forEach((x, i) => {
    const a = L + ((x.s.getTime() - t0) / (t1 - t0)) * (W - L - 10);
    const b = L + (((x.e || x.s).getTime() - t0) / (t1 - t0)) * (W - L - 10);
    svg.append(el('svg:text', { x: L - 6, y: i * RH + 14, 'text-anchor': 'end', 'font-size': 11 }, x.name),
      el('svg:rect', { x: a, y: i * RH + 3, width: Math.max(2, b - a), height: RH - 6, rx: 2, fill: FILL[x.st] || '#5794f2', class: x.node ? 'gantt-bar gantt-node' : 'gantt-bar', 'data-block': x.name.trim() },
        el('svg:title', {}, `${x.name}: ${x.st}, ${(((x.e || x.s).getTime() - x.s.getTime()) / 1000).toFixed(2)} s`)));
  });
  svg.append(el('svg:text', { x: L, y: spans.length * RH + 18, 'font-size': 10 }, '0 s'),
    el('svg:text', { x: W - 10, y: spans.length * RH + 18, 'font-size': 10, 'text-anchor': 'end' }, `${((t1 - t0) / 1000).toFixed(1)} s`));
  return svg;
}

/* One run: its failing block first, its timeline, its blocks with logs,
 * and ways to run again. Returns block -> status (for the DAG). */
async function showRun(box, id, pl, start) {
  const j = await api(`/api/runs/${id}`);
  const c = Object.fromEntries(j.columns.map((x, i) => [x.name, i]));
  const statuses = new Map(j.rows.map((r) => [r[c.block], r[c.status]]));
  const failed = j.rows.filter((r) => r[c.status] === 'failed');
  const logBox = el('div');
  const showLog = (r) => clear(logBox).append(el('h2', {}, `Log of ${r[c.block]} (attempt ${r[c.attempt]})`), el('pre', { class: 'log' }, r[c.log] || '(no output)'));
  box.append(el('h2', {}, `Run #${id}`));
  for (const f of failed) { /* the cause first, not at the bottom of a log */
    const err = errorBox(`${f[c.block]} failed: ${f[c.error] || ''}`);
    err.classList.add('run-failure');
    box.append(err);
    /* a dbt block: the nodes that failed, with dbt's message, from the
     * project's last run_results.json (the failing command wrote it) */
    if (f[c.type] === 'dbt' || f[c.type] === 'test') {
      const j2 = await api('/api/models').catch(() => null);
      const bad = j2 ? j2.nodes.filter((n) => n.status === 'error' || n.status === 'fail') : [];
      if (bad.length) {
        err.append(el('ul', { class: 'failed-nodes' }, bad.map((n) => el('li', {},
          el('a', { href: `/pipeline/models/${encodeURIComponent(n.name)}`, 'data-nav': true }, n.name), ` (${n.resource_type}, ${n.status}): `,
          el('code', {}, n.message || '')))));
      }
    }
  }
  const rerun = el('button', { type: 'button', id: 'rerun-failed', disabled: !failed.length }, 'Re-run the failed blocks');
  rerun.addEventListener('click', () => start({ select: failed.map((r) => `${r[c.block]}+`).join(',') }));
  const fromSel = el('select', { id: 'run-from-block', 'aria-label': 'Block to run from' }, pl.blocks.map((b) => el('option', { value: b.name }, b.name)));
  const fromBtn = el('button', { type: 'button', id: 'run-from' }, 'Run from this block');
  fromBtn.addEventListener('click', () => start({ from: fromSel.value }));
  box.append(el('div', { class: 'bar' }, rerun, fromSel, fromBtn));
  /* the blocks on a time axis, each dbt block followed by its nodes */
  const nodes = await api(`/api/runs/${id}/nodes`).catch(() => null);
  const nc = nodes ? Object.fromEntries(nodes.columns.map((x, i) => [x.name, i])) : {};
  const spans = [];
  for (const r of j.rows) {
    spans.push({ name: r[c.block], s: utc(r[c.started_at]), e: utc(r[c.ended_at]), st: r[c.status] });
    for (const n of nodes ? nodes.rows.filter((x) => x[nc.block] === r[c.block]) : []) {
      spans.push({ name: `  ${n[nc.unique_id].split('.').slice(2).join('.')}`, s: utc(n[nc.started_at]), e: utc(n[nc.ended_at]), st: n[nc.status], node: true });
    }
  }
  const g = ganttOf(spans, 'gantt', 'blocks and dbt nodes');
  if (g) box.append(el('h3', {}, 'Timeline'), g);
  box.append(el('table', { class: 'data runs', id: 'block-runs' },
    el('thead', {}, el('tr', {}, ['Block', 'Type', 'Status', 'Attempt', 'Started', 'Duration', 'Rows in', 'Rows out', 'Error'].map((h) => el('th', { scope: 'col' }, h)))),
    el('tbody', {}, j.rows.map((r) => {
      const open = el('button', { type: 'button', class: 'linkish', 'aria-label': `Log of ${r[c.block]}` }, r[c.block]);
      open.addEventListener('click', (e) => { e.stopPropagation(); showLog(r); });
      return el('tr', { onclick: () => showLog(r) },
        el('td', {}, open), el('td', {}, r[c.type]), el('td', {}, statusBadge(r[c.status])), el('td', { class: 'num' }, r[c.attempt]),
        el('td', {}, localTime(r[c.started_at])), el('td', {}, duration(r[c.started_at], r[c.ended_at])),
        el('td', { class: 'num' }, r[c.rows_in] ?? ''), el('td', { class: 'num' }, r[c.rows_out] ?? ''), el('td', { class: 'error' }, r[c.error] || ''));
    }))),
  el('p', { class: 'muted' }, 'Choose a block for its log.'), logBox);
  return statuses;
}

/* ---- dbt models: lineage and one model ---------------------------------------------------------- */

async function showModels(box, name) {
  const j = await api('/api/models');
  const nodes = j.nodes.filter((n) => n.resource_type !== 'test');
  const tests = j.nodes.filter((n) => n.resource_type === 'test');
  box.append(el('h2', {}, 'dbt models'), el('p', { class: 'muted' }, `from the project's last build (${j.generated_at || 'manifest'}); ${nodes.length} nodes, ${tests.length} tests. Choose one for its SQL, columns and tests.`));
  box.append(el('div', { class: 'dag' }, drawGraph(nodes.map((n) => ({
    id: n.unique_id, label: n.name, up: n.depends_on || [], status: n.status, sub: `${n.resource_type}${n.status ? ` · ${n.status}` : ''}`,
    title: `${n.unique_id}${n.status ? `: ${n.status}` : ''}`,
    onclick: n.resource_type === 'source' ? null : () => go(`/pipeline/models/${encodeURIComponent(n.name)}`),
  })), { id: 'model-dag', label: 'Lineage of the dbt models', width: 170 })));
  /* the nodes of the last dbt command on a time axis (dbt's timing) */
  const timed = j.nodes.filter((n) => n.started_at).map((n) => ({ name: n.name, s: utc(n.started_at), e: utc(n.completed_at), st: n.status }));
  const g = timed.length ? ganttOf(timed, 'model-gantt', 'nodes of the last dbt command') : null;
  if (g) box.append(el('h3', {}, 'The last dbt command, node by node'), g);
  if (!name) return;
  const d = await api(`/api/models/${encodeURIComponent(name)}`);
  const link = (n) => el('a', { href: `/pipeline/models/${encodeURIComponent(n.name)}`, 'data-nav': true }, n.name);
  const parents = (d.depends_on || []).map((id) => j.nodes.find((n) => n.unique_id === id)).filter(Boolean);
  const cols = d.warehouse_columns || [];
  const documented = d.columns || {};
  box.append(el('section', { id: 'model', 'aria-label': `Model ${d.name}` },
    /* a status only where dbt's last run_results.json has one (each dbt command writes it anew) */
    el('h2', {}, `${d.resource_type} ${d.name} `, d.status ? statusBadge(d.status) : null),
    el('p', { class: 'muted' }, `${d.path || ''} · ${d.materialized || ''} · ${d.relation_name || ''}` +
      (d.execution_time !== undefined && d.execution_time !== null ? ` · ${Number(d.execution_time).toFixed(2)} s` : '') +
      (d.rows !== null && d.rows !== undefined ? ` · ${Number(d.rows).toLocaleString()} rows` : '')),
    d.description ? el('p', {}, d.description) : null,
    el('p', { id: 'model-reads' }, 'Reads from: ', parents.length ? parents.flatMap((p, i) => [i ? ', ' : '', p.resource_type === 'source' ? `${p.name} (source)` : link(p)]) : 'nothing'),
    el('p', {}, 'Read by: ', (d.children || []).length ? d.children.flatMap((ch, i) => [i ? ', ' : '', link(ch)]) : 'nothing'),
    el('h3', {}, 'Columns'),
    cols.length ? el('table', { class: 'data', id: 'model-columns' }, el('thead', {}, el('tr', {}, ['Column', 'Type', 'Description'].map((h) => el('th', { scope: 'col' }, h)))),
      el('tbody', {}, cols.map((col) => el('tr', {}, el('td', {}, col.name), el('td', { class: 'ctype' }, col.type),
        el('td', {}, (documented[col.name] && documented[col.name].description) || '')))))
      : el('p', { class: 'muted' }, 'Not in the warehouse (ephemeral, or not built yet).'),
    el('h3', {}, `Tests (${(d.tests || []).length})`),
    el('ul', { id: 'model-tests' }, (d.tests || []).map((t) => el('li', {}, statusBadge(t.status || 'not run'), ' ', t.name))),
    el('h3', {}, 'SQL'), el('pre', { class: 'sql-text', id: 'model-sql', tabindex: 0 }, d.raw_code || ''),
    el('h3', {}, 'Compiled SQL'), el('pre', { class: 'sql-text', id: 'model-compiled', tabindex: 0 }, d.compiled_code || '(not compiled yet)')));
}

export { showPipeline };
