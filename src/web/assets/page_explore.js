/* page_explore.js: the explore room: the schema tree, a read-only SQL
 * editor, paged results, CSV download. */
import { clear, csvText, downloadText, el, errorBox } from './dom.js';
import { api } from './api.js';

/* ---- explore: tables and read-only SQL ------------------------------------------------- */

function quoteIdent(s) { return `"${String(s).replace(/"/g, '""')}"`; }

function csvOf(res) { return csvText(res.columns.map((c) => c.name), res.rows); }

async function showExplore(m) {
  const PAGE = 100;
  const sql = el('textarea', { class: 'sql', id: 'sql', spellcheck: 'false' }, 'SELECT * FROM information_schema.tables LIMIT 20');
  const runBtn = el('button', { class: 'primary', id: 'run-sql' }, 'Run (Ctrl+Enter)');
  const csvBtn = el('button', { id: 'csv', disabled: true }, 'Download CSV');
  const info = el('span', { class: 'muted', id: 'query-info' });
  const out = el('div', { id: 'result' });
  const tree = el('div', { class: 'tree', id: 'tree' }, el('span', { class: 'muted' }, 'loading tables…'));
  m.append(el('div', { class: 'explore' }, tree,
    el('div', {}, sql, el('div', { class: 'bar' }, runBtn, csvBtn, info), out)));
  let res = null;

  const page = (n) => {
    clear(out);
    const pages = Math.max(1, Math.ceil(res.rows.length / PAGE));
    const rows = res.rows.slice(n * PAGE, (n + 1) * PAGE);
    const nums = res.columns.map((c) => c.numeric);
    out.append(el('div', { class: 'result-grid' }, el('table', { class: 'data', id: 'grid' },
      el('thead', {}, el('tr', {}, res.columns.map((c, i) => el('th', { class: nums[i] ? 'num' : null }, c.name)))),
      el('tbody', {}, rows.map((r) => el('tr', {}, r.map((v, i) => el('td', { class: v === null ? 'null' : nums[i] ? 'num' : null }, v === null ? 'NULL' : v))))))));
    if (pages > 1) {
      out.append(el('div', { class: 'bar' },
        el('button', { disabled: n === 0, onclick: () => page(n - 1) }, '‹ Prev'),
        el('span', { id: 'page' }, `page ${n + 1} of ${pages}`),
        el('button', { disabled: n + 1 >= pages, onclick: () => page(n + 1) }, 'Next ›')));
    }
  };

  const run = async () => {
    runBtn.disabled = true;
    info.textContent = 'running…';
    const t0 = performance.now();
    try {
      res = await api('/api/query', { sql: sql.value });
      const total = performance.now() - t0;
      info.textContent = `${res.rows.length.toLocaleString()} row${res.rows.length === 1 ? '' : 's'} · ${res.elapsed_ms.toFixed(1)} ms in the database, ${total.toFixed(0)} ms in all` +
        (res.truncated ? ` · row cap reached: only the first ${res.rows.length.toLocaleString()} rows are shown` : '');
      info.classList.toggle('error', !!res.truncated);
      csvBtn.disabled = false;
      page(0);
    } catch (e) {
      res = null;
      csvBtn.disabled = true;
      info.textContent = '';
      clear(out).append(errorBox(e.message));
    } finally {
      runBtn.disabled = false;
    }
  };
  runBtn.addEventListener('click', run);
  sql.addEventListener('keydown', (e) => { if (e.key === 'Enter' && (e.ctrlKey || e.metaKey)) { e.preventDefault(); run(); } });
  csvBtn.addEventListener('click', () => {
    if (!res) return;
    downloadText('query.csv', csvOf(res));
  });

  try {
    const t = await api('/api/tables');
    clear(tree);
    for (const s of t.schemas) {
      tree.append(el('details', { open: s.name !== 'bookpipe_meta' && !s.name.endsWith('_stage') }, el('summary', {}, s.name),
        s.tables.map((tb) => el('details', { 'data-table': `${s.name}.${tb.name}` },
          el('summary', {}, el('a', {
            href: '#', onclick: (e) => { e.preventDefault(); sql.value = `SELECT * FROM ${quoteIdent(s.name)}.${quoteIdent(tb.name)} LIMIT 100`; run(); },
          }, tb.name), el('span', { class: 'muted' }, tb.rows !== undefined ? ` ${tb.rows.toLocaleString()} rows` : tb.type === 'VIEW' ? ' view' : '')),
          el('ul', {}, tb.columns.map((c) => el('li', {}, c.name, ' ', el('span', { class: 'ctype' }, c.type))))))));
    }
  } catch (e) {
    clear(tree).append(errorBox(e.message));
  }
}

export { showExplore };
