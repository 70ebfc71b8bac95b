/* page_explore.js: the explore room, a read-only query tool as pgAdmin's:
 * the schema tree (a table's columns, types and simple statistics), query
 * tabs kept in the browser with their text (and results while the page
 * lives), a history, several statements each with its result, EXPLAIN as a
 * plan, errors in monospace with their place marked in the editor, paged
 * results, and the full result as CSV or JSON. */
import { clear, csvText, downloadText, el, errorBox } from './dom.js';
import { api } from './api.js';

const STORE = 'bookpipe.explore';
const PAGE = 100;
const results = new Map(); /* tab id -> the answer shown (kept across rooms) */

function quoteIdent(s) { return `"${String(s).replace(/"/g, '""')}"`; }

function load() {
  let s = null;
  try { s = JSON.parse(localStorage.getItem(STORE) || 'null'); } catch (e) { s = null; }
  if (!s || !Array.isArray(s.tabs) || !s.tabs.length) {
    s = { tabs: [{ id: 1, sql: 'SELECT * FROM information_schema.tables LIMIT 20' }], active: 1, next: 2, history: [] };
  }
  s.history = s.history || [];
  return s;
}
function save(s) { try { localStorage.setItem(STORE, JSON.stringify(s)); } catch (e) { /* storage full or off: the page still works */ } }

function csvOf(res) { return csvText(res.columns.map((c) => c.name), res.rows); }

/* EXPLAIN's answer is a plan: DuckDB's explain_value, PostgreSQL's QUERY PLAN */
function planText(res) {
  const i = res.columns.findIndex((c) => c.name === 'explain_value' || c.name === 'QUERY PLAN');
  if (i < 0) return null;
  return res.rows.map((r) => r[i]).join('\n');
}

/* Line and column of a 1-based character position in text. */
function lineCol(text, pos) {
  const before = text.slice(0, Math.max(0, pos - 1));
  const lines = before.split('\n');
  return { line: lines.length, col: lines[lines.length - 1].length + 1 };
}

async function showExplore(m) {
  const st = load();
  const sql = el('textarea', { class: 'sql', id: 'sql', spellcheck: 'false', 'aria-label': 'SQL (read-only; Ctrl+Enter runs it)' });
  const runBtn = el('button', { class: 'primary', id: 'run-sql', type: 'button' }, 'Run (Ctrl+Enter)');
  const csvBtn = el('button', { id: 'csv', type: 'button', disabled: true, title: 'the rows shown, as CSV' }, 'Download CSV');
  const allCsv = el('button', { id: 'export-csv', type: 'button', title: 'every row of the query, streamed by the server' }, 'Export all: CSV');
  const allJson = el('button', { id: 'export-json', type: 'button', title: 'every row of the query, streamed by the server' }, 'JSON');
  const allParquet = el('button', { id: 'export-parquet', type: 'button', title: 'every row of the query, as a typed Parquet file' }, 'Parquet');
  const info = el('span', { class: 'muted', id: 'query-info', role: 'status' });
  const out = el('div', { id: 'result' });
  const tabsBar = el('div', { class: 'tabs', id: 'query-tabs', role: 'group', 'aria-label': 'Query tabs' });
  const histList = el('ol', { class: 'history', id: 'history' });
  const hist = el('details', { class: 'history-box' }, el('summary', {}, 'History'), histList);
  const tree = el('nav', { class: 'tree', id: 'tree', 'aria-label': 'Tables' }, el('span', { class: 'muted' }, 'loading tables…'));
  m.append(el('div', { class: 'explore' }, tree,
    el('div', { class: 'explore-main' }, tabsBar, sql, el('div', { class: 'bar' }, runBtn, csvBtn, allCsv, allJson, allParquet, info), out, hist)));

  const tab = () => st.tabs.find((t) => t.id === st.active) || st.tabs[0];

  const drawTabs = () => {
    clear(tabsBar);
    for (const t of st.tabs) {
      const name = (t.sql || '').trim().split('\n')[0].slice(0, 24) || 'empty';
      const b = el('button', { type: 'button', class: 'qtab', 'aria-current': t.id === st.active ? 'true' : null, 'data-tab': t.id, title: t.sql }, name);
      b.addEventListener('click', () => { tab().sql = sql.value; st.active = t.id; save(st); show(); });
      const x = st.tabs.length > 1 ? el('button', { type: 'button', class: 'tab-close', 'aria-label': `Close tab ${name}` }, '×') : null;
      if (x) x.addEventListener('click', () => { st.tabs = st.tabs.filter((o) => o !== t); results.delete(t.id); if (st.active === t.id) st.active = st.tabs[0].id; save(st); show(); });
      tabsBar.append(el('span', { class: 'tab' }, b, x));
    }
    const add = el('button', { type: 'button', id: 'new-tab', 'aria-label': 'New query tab' }, '+');
    add.addEventListener('click', () => { tab().sql = sql.value; const t = { id: st.next++, sql: '' }; st.tabs.push(t); st.active = t.id; save(st); show(); sql.focus(); });
    tabsBar.append(add);
  };

  const drawHistory = () => {
    clear(histList);
    for (const h of st.history.slice(0, 50)) {
      const b = el('button', { type: 'button', class: h.ok ? 'hist' : 'hist hist-bad', title: h.sql }, h.sql.replace(/\s+/g, ' ').slice(0, 120));
      b.addEventListener('click', () => { sql.value = h.sql; tab().sql = h.sql; save(st); sql.focus(); });
      histList.append(el('li', {}, b, el('span', { class: 'muted' }, ` ${new Date(h.at).toLocaleString()}${h.ok ? ` · ${h.rows} rows · ${h.ms} ms` : ' · failed'}`)));
    }
    if (!st.history.length) histList.append(el('li', { class: 'muted' }, 'No queries yet.'));
  };

  /* one result: a plan, or a paged grid */
  const drawResult = (res, box, n) => {
    clear(box);
    const plan = planText(res);
    if (plan !== null) { box.append(el('pre', { class: 'plan', tabindex: 0, 'aria-label': 'query plan' }, plan)); return; }
    const pages = Math.max(1, Math.ceil(res.rows.length / PAGE));
    const rows = res.rows.slice(n * PAGE, (n + 1) * PAGE);
    const nums = res.columns.map((c) => c.numeric);
    box.append(el('div', { class: 'result-grid', tabindex: 0, role: 'region', 'aria-label': 'result rows' }, el('table', { class: 'data', id: box === out ? 'grid' : null },
      el('thead', {}, el('tr', {}, res.columns.map((c, i) => el('th', { class: nums[i] ? 'num' : null, scope: 'col', title: c.type || null }, c.name)))),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((v, i) => el('td', { class: v === null ? 'null' : nums[i] ? 'num' : null }, v === null ? 'NULL' : v))))))));
    if (pages > 1) {
      box.append(el('div', { class: 'bar' },
        el('button', { type: 'button', disabled: n === 0, onclick: () => drawResult(res, box, n - 1) }, '‹ Prev'),
        el('span', { id: box === out ? 'page' : null }, `page ${n + 1} of ${pages}`),
        el('button', { type: 'button', disabled: n + 1 >= pages, onclick: () => drawResult(res, box, n + 1) }, 'Next ›')));
    }
  };

  const drawError = (e, text) => {
    const box = errorBox('');
    clear(box).append(el('pre', { class: 'sql-error' }, e.message));
    if (e.body && e.body.position) {
      const { line, col } = lineCol(text, e.body.position);
      box.append(el('div', { class: 'muted' }, `at line ${line}, column ${col} (marked in the editor)`));
      sql.focus();
      sql.setSelectionRange(e.body.position - 1, Math.min(text.length, e.body.position));
    }
    clear(out).append(box);
  };

  const drawAnswer = (ans) => {
    clear(out);
    if (!ans) return;
    if (ans.error) { drawError(ans.error, ans.sql); return; }
    const list = ans.res.results || [ans.res];
    if (list.length === 1) { drawResult(list[0], out, 0); return; }
    list.forEach((r, i) => {
      const box = el('div', { class: 'stmt-result' });
      out.append(el('h3', {}, `Statement ${i + 1}: ${r.rows.length} row${r.rows.length === 1 ? '' : 's'}`), box);
      drawResult(r, box, 0);
    });
  };

  const show = () => {
    sql.value = tab().sql || '';
    drawTabs();
    drawHistory();
    const ans = results.get(st.active);
    drawAnswer(ans);
    info.textContent = ans && ans.info ? ans.info : '';
    csvBtn.disabled = !(ans && ans.res);
  };

  const remember = (entry) => {
    st.history = [entry, ...st.history.filter((h) => h.sql !== entry.sql)].slice(0, 100);
    save(st);
    drawHistory();
  };

  const run = async () => {
    const text = sql.value;
    tab().sql = text;
    save(st);
    runBtn.disabled = true;
    info.textContent = 'running…';
    info.classList.remove('error');
    const t0 = performance.now();
    try {
      const res = await api('/api/query', { sql: text });
      const total = performance.now() - t0;
      const list = res.results || [res];
      const n = list.reduce((a, r) => a + r.rows.length, 0);
      const db = list.reduce((a, r) => a + (r.elapsed_ms || 0), 0);
      const capped = list.some((r) => r.truncated);
      const line = `${n.toLocaleString()} row${n === 1 ? '' : 's'} · ${db.toFixed(1)} ms in the database, ${total.toFixed(0)} ms in all` +
        (list.length > 1 ? ` · ${list.length} statements` : '') +
        (capped ? ' · row cap reached: only the first rows are shown (Export all gives every row)' : '');
      results.set(tab().id, { res, info: line, sql: text });
      info.textContent = line;
      info.classList.toggle('error', capped);
      csvBtn.disabled = false;
      remember({ sql: text, at: Date.now(), rows: n, ms: Math.round(db), ok: true });
      drawAnswer(results.get(tab().id));
    } catch (e) {
      results.set(tab().id, { error: e, sql: text, info: '' });
      csvBtn.disabled = true;
      info.textContent = '';
      remember({ sql: text, at: Date.now(), ok: false });
      drawError(e, text);
    } finally {
      runBtn.disabled = false;
      drawTabs();
    }
  };

  /* the whole result, streamed by the server (no row cap) */
  const exportAll = async (format) => {
    info.textContent = `exporting ${format.toUpperCase()}…`;
    try {
      const r = await fetch('/api/export', {
        method: 'POST', credentials: 'same-origin',
        headers: { 'Content-Type': 'application/json', 'X-Bookpipe-CSRF': '1' },
        body: JSON.stringify({ sql: sql.value, format }),
      });
      if (!r.ok) { let msg = `HTTP ${r.status}`; try { msg = (await r.json()).error || msg; } catch (e) { /* not JSON */ } throw new Error(msg); }
      const blob = await r.blob();
      const a = el('a', { href: URL.createObjectURL(blob), download: `query.${format}` });
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(a.href), 1000);
      info.textContent = `exported ${format.toUpperCase()} (${blob.size.toLocaleString()} bytes)`;
    } catch (e) {
      info.textContent = '';
      clear(out).append(errorBox(e.message));
    }
  };

  runBtn.addEventListener('click', run);
  sql.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  sql.addEventListener('input', () => { tab().sql = sql.value; save(st); });
  csvBtn.addEventListener('click', () => {
    const ans = results.get(st.active);
    if (!ans || !ans.res) return;
    const list = ans.res.results || [ans.res];
    downloadText('query.csv', list.map(csvOf).join('\r\n'));
  });
  allCsv.addEventListener('click', () => exportAll('csv'));
  allJson.addEventListener('click', () => exportAll('json'));
  allParquet.addEventListener('click', () => exportAll('parquet'));
  show();

  try {
    const t = await api('/api/tables');
    clear(tree);
    for (const s of t.schemas) {
      tree.append(el('details', { open: s.name !== 'bookpipe_meta' && !s.name.endsWith('_stage') }, el('summary', {}, s.name),
        s.tables.map((tb) => {
          const stats = el('div', { class: 'col-stats' });
          const statsBtn = el('button', { type: 'button', class: 'stats-btn', 'aria-label': `stats of ${s.name}.${tb.name}` }, 'stats');
          const selectBtn = el('button', { type: 'button', class: 'stats-btn select-btn', 'aria-label': `SELECT * FROM ${s.name}.${tb.name}` }, 'SELECT *');
          selectBtn.addEventListener('click', () => { sql.value = `SELECT * FROM ${quoteIdent(s.name)}.${quoteIdent(tb.name)} LIMIT 100`; run(); });
          statsBtn.addEventListener('click', async () => {
            clear(stats).append(el('span', { class: 'muted' }, 'computing…'));
            try {
              const j = await api(`/api/tables/stats?table=${encodeURIComponent(`${s.name}.${tb.name}`)}`);
              clear(stats).append(el('table', { class: 'data stats' },
                el('thead', {}, el('tr', {}, ['column', 'type', 'nulls', 'distinct', 'min', 'max'].map((h) => el('th', { scope: 'col' }, h)))),
                el('tbody', {}, j.columns.map((c) => el('tr', {}, el('td', {}, c.name), el('td', { class: 'ctype' }, c.type),
                  el('td', { class: 'num' }, c.nulls), el('td', { class: 'num' }, c.distinct), el('td', {}, c.min ?? ''), el('td', {}, c.max ?? ''))))));
            } catch (e) { clear(stats).append(errorBox(e.message)); }
          });
          /* nothing clickable inside the summary (it is a control itself) */
          return el('details', { 'data-table': `${s.name}.${tb.name}` },
            el('summary', {}, tb.name, el('span', { class: 'muted' }, tb.rows !== undefined ? ` ${tb.rows.toLocaleString()} rows` : tb.type === 'VIEW' ? ' view' : '')),
            selectBtn, tb.type !== 'VIEW' ? statsBtn : null,
            el('ul', {}, tb.columns.map((c) => el('li', {}, c.name, ' ', el('span', { class: 'ctype' }, c.type)))), stats);
        })));
    }
  } catch (e) {
    clear(tree).append(errorBox(e.message));
  }
}

export { showExplore };
