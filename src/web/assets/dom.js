/* dom.js: building the page: elements with text (never markup), dates and
 * durations as the history stores them, status badges. */
/* ---- small helpers ------------------------------------------------------------------ */

/* el('div', {class: 'x'}, 'text', child): an element; strings become text. */
function el(tag, attrs, ...kids) {
  const e = tag.startsWith('svg:')
    ? document.createElementNS('http://www.w3.org/2000/svg', tag.slice(4))
    : document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on')) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? '' : String(v));
  }
  for (const k of kids.flat()) {
    if (k === undefined || k === null || k === false) continue;
    e.append(k instanceof Node ? k : document.createTextNode(String(k)));
  }
  return e;
}

function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); return node; }

function errorBox(msg) { return el('div', { class: 'box-error error' }, msg); }

/* "2026-11-25 06:01:02.123" (UTC, as the history stores it) to a Date. */
function utc(ts) {
  if (!ts) return null;
  const d = new Date(ts.replace(' ', 'T') + (/[zZ]|[+-]\d\d:?\d\d$/.test(ts) ? '' : 'Z'));
  return isNaN(d) ? null : d;
}

function duration(a, b) {
  const s = utc(a), e = utc(b);
  if (!s || !e) return '';
  const sec = (e - s) / 1000;
  if (sec < 60) return `${sec.toFixed(sec < 10 ? 2 : 1)} s`;
  return `${Math.floor(sec / 60)} min ${Math.round(sec % 60)} s`;
}

function localTime(ts) {
  const d = utc(ts);
  return d ? d.toLocaleString() : '';
}

function statusBadge(st) { return el('span', { class: `status st-${st || 'none'}` }, st || 'never run'); }

/* CSV text of a header and rows (RFC 4180: quoted where needed). */
function csvText(header, rows) {
  const q = (v) => { if (v === null || v === undefined) return ''; const t = String(v); return /[",\r\n]/.test(t) ? `"${t.replace(/"/g, '""')}"` : t; };
  return [header.map(q).join(','), ...rows.map((r) => r.map(q).join(','))].join('\r\n') + '\r\n';
}

/* Save text as a file the browser downloads. */
function downloadText(name, text, type) {
  const a = el('a', { href: URL.createObjectURL(new Blob([text], { type: type || 'text/csv' })), download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(a.href), 1000);
}

export { clear, csvText, downloadText, duration, el, errorBox, localTime, statusBadge, utc };
