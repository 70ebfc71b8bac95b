/* page_pipeline.js: the pipeline room: the DAG with each block's last
 * status, the runs, a run's block runs and logs, Run now. */
import { clear, duration, el, errorBox, localTime, statusBadge } from './dom.js';
import { api } from './api.js';
import { go, onLeave } from './nav.js';

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
  onLeave(() => { if (timer) clearTimeout(timer); timer = null; });
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

export { showPipeline };
