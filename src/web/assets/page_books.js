/* page_books.js: the books and readers behind the dashboards: a book page
 * (cover, details, ratings, "readers of this book also read"), a reader's
 * page (their list with "because you read", the books they rated) and the
 * search that reaches both. Everything from /api/books, /api/users,
 * /api/recommend and /api/search; every value shown as text. */
import { clear, el, errorBox } from './dom.js';
import { api } from './api.js';

const bookHref = (isbn) => `/books/${encodeURIComponent(isbn)}`;
const userHref = (id) => `/users/${encodeURIComponent(id)}`;

/* The cover, fetched from the dataset's image host only when asked: the
 * page makes no request to another site by itself (offline machines,
 * privacy), and many of the dataset's links are dead anyway. */
function cover(url, title) {
  if (!url) return null;
  let host = '';
  try { host = new URL(url).host; } catch (e) { return null; }
  const box = el('figure', { class: 'cover-box' });
  const btn = el('button', { type: 'button', id: 'load-cover' }, `Show the cover (from ${host})`);
  btn.addEventListener('click', () => {
    const img = el('img', { src: url, alt: `Cover of ${title}`, class: 'cover', referrerpolicy: 'no-referrer' });
    img.addEventListener('error', () => { clear(box).append(el('figcaption', { class: 'muted' }, 'no cover to be had')); });
    clear(box).append(img);
  });
  box.append(btn);
  return box;
}

/* A list of books, each a link to its page, with its reason when given. */
function bookList(items, id, why) {
  if (!items.length) return el('p', { class: 'muted' }, 'Nothing to show yet.');
  return el('ol', { class: 'book-list', id },
    items.map((b) => el('li', { 'data-isbn': b.isbn },
      el('div', {},
        el('a', { href: bookHref(b.isbn), 'data-nav': true, class: 'book-title' }, b.title || b.isbn),
        b.author ? el('span', { class: 'muted' }, ` · ${b.author}`) : null,
        b.year ? el('span', { class: 'muted' }, ` (${b.year})`) : null,
        why && b.because ? el('div', { class: 'because muted' }, 'because you read ',
          el('a', { href: bookHref(b.because.isbn), 'data-nav': true }, b.because.title || b.because.isbn)) : null))));
}

async function showBook(isbn, m) {
  const [b, sim] = await Promise.all([
    api(`/api/books/${encodeURIComponent(isbn)}`),
    api(`/api/books/${encodeURIComponent(isbn)}/similar`).catch((e) => ({ error: e.message, items: [] })),
  ]);
  const facts = [['Author', b.author], ['Year', b.year], ['Publisher', b.publisher], ['ISBN', b.isbn],
    ['Ratings', b.ratings], ['Explicit ratings', b.explicit_ratings],
    ['Average rating', b.avg_rating === null || b.avg_rating === undefined ? '—' : Number(b.avg_rating).toFixed(2)]];
  m.append(el('article', { class: 'book', id: 'book' },
    cover(b.image_url_l || b.image_url_m, b.title || b.isbn),
    el('div', {},
      el('h1', { id: 'book-title' }, b.title || b.isbn),
      el('dl', { class: 'facts' }, facts.flatMap(([k, v]) => [el('dt', {}, k), el('dd', {}, v === null || v === undefined ? '—' : String(v))])))),
  el('h2', {}, 'Readers of this book also read'),
  sim.error ? errorBox(sim.error) : bookList(sim.items, 'similar', false));
}

async function showUser(id, m) {
  const [u, recs] = await Promise.all([
    api(`/api/users/${encodeURIComponent(id)}`),
    api(`/api/recommend?user=${encodeURIComponent(id)}`).catch((e) => ({ error: e.message, items: [] })),
  ]);
  const where = [u.city, u.state, u.country].filter(Boolean).join(', ');
  m.append(el('h1', { id: 'user-title' }, `Reader ${u.user_id}`),
    el('p', { class: 'muted' }, [where || 'somewhere', u.age ? ` · age ${u.age}` : ''].join('')),
    el('h2', {}, recs.known === false ? 'Most read (this reader has no ratings)' : 'Recommended next'),
    recs.error ? errorBox(recs.error) : bookList(recs.items, 'recommended', true),
    el('h2', {}, `Rated (${u.rated.length}${u.more ? '+' : ''})`),
    el('table', { class: 'data', id: 'rated' },
      el('thead', {}, el('tr', {}, el('th', {}, 'Title'), el('th', {}, 'Author'), el('th', {}, 'Rating'))),
      el('tbody', {}, u.rated.map((r) => el('tr', {},
        el('td', {}, el('a', { href: bookHref(r.isbn), 'data-nav': true }, r.title || r.isbn)),
        el('td', {}, r.author || ''), el('td', {}, r.rating === 0 ? 'read (no score)' : String(r.rating)))))));
}

async function showSearch(m) {
  const q = new URLSearchParams(location.search).get('q') || '';
  m.append(el('h1', {}, q ? `Search: ${q}` : 'Search'));
  if (!q) { m.append(el('p', { class: 'muted' }, 'Type a title, an author, an ISBN or a reader\'s id in the box above.')); return; }
  const r = await api(`/api/search?q=${encodeURIComponent(q)}`);
  if (r.user !== null && r.user !== undefined)
    m.append(el('p', {}, el('a', { href: userHref(r.user), 'data-nav': true, id: 'user-hit' }, `Reader ${r.user}`)));
  m.append(bookList(r.books, 'hits', false));
}

/* The header's search box: a form that goes to /search?q=. */
function searchBox(go) {
  const input = el('input', { type: 'search', id: 'search', name: 'q', placeholder: 'Book, author, ISBN or reader id', 'aria-label': 'Search books and readers' });
  const form = el('form', { class: 'search', role: 'search', action: '/search' }, input);
  form.addEventListener('submit', (ev) => {
    ev.preventDefault();
    const v = input.value.trim();
    if (v) go(`/search?q=${encodeURIComponent(v)}`);
  });
  return form;
}

async function showBooksRoom(path, m) {
  clear(m);
  const b = path.match(/^\/books\/([^/]+)/), u = path.match(/^\/users\/([^/]+)/);
  if (b) await showBook(decodeURIComponent(b[1]), m);
  else if (u) await showUser(decodeURIComponent(u[1]), m);
  else await showSearch(m);
}

export { searchBox, showBooksRoom };
