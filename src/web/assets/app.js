/* app.js: the pages of `bookpipe serve`, drawn from the JSON API.
 *
 * Four rooms: Grafana-style dashboards (/d/UID), the pipeline's DAG and
 * runs (/pipeline), a read-only SQL explorer (/explore), and the books and
 * readers with their recommendations (/books/ISBN, /users/ID, /search),
 * one module each (page_*.js) over dom.js, api.js, nav.js, format.js and
 * panels.js.
 * Every data value reaches the page as text (textContent, never
 * innerHTML), so a book titled "<script>" shows as those characters.
 * Plain ES modules, embedded in the binary as they are: no build step. */
import { clear, errorBox } from './dom.js';
import { api } from './api.js';
import { go, leave, main, setRouter } from './nav.js';
import { showDashboard, showDashboardList } from './page_dashboard.js';
import { showPipeline } from './page_pipeline.js';
import { showExplore } from './page_explore.js';
import { searchBox, showBooksRoom } from './page_books.js';

/* ---- routing -------------------------------------------------------------------------- */

async function route() {
  leave();
  const p = location.pathname;
  const room = p.startsWith('/pipeline') ? 'pipeline'
    : p.startsWith('/explore') ? 'explore'
      : /^\/(books|users|search)(\/|$)/.test(p) ? 'books' : 'dashboards';
  for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.room === room);
  const m = clear(main());
  try {
    if (p.startsWith('/d/')) await showDashboard(decodeURIComponent(p.slice(3).split('/')[0]), m);
    else if (room === 'pipeline') await showPipeline(m, p.match(/^\/pipeline\/runs\/(\d+)/));
    else if (room === 'explore') await showExplore(m);
    else if (room === 'books') await showBooksRoom(p, m);
    else await showDashboardList(m);
  } catch (e) {
    m.append(errorBox(e.message));
  }
}

document.addEventListener('click', (ev) => {
  const a = ev.target.closest && ev.target.closest('a[data-nav]');
  if (!a || ev.button !== 0 || ev.ctrlKey || ev.metaKey || ev.shiftKey) return;
  ev.preventDefault();
  go(a.getAttribute('href'));
});
window.addEventListener('popstate', route);

async function showHealth() {
  const h = document.getElementById('health');
  try {
    const j = await api('/api/health');
    h.textContent = `${j.target} · ${j.schema} · bookpipe ${j.version}`;
  } catch (e) {
    h.textContent = e.message;
  }
}

/* ---- start ---------------------------------------------------------------------------------- */

if (window.Chart) {
  window.Chart.defaults.color = '#ccccdc';
  window.Chart.defaults.borderColor = 'rgba(204,204,220,0.12)';
}
setRouter(route);
document.querySelector('header.top').insertBefore(searchBox(go), document.getElementById('health'));
showHealth();
route();
