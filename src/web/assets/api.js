/* api.js: the JSON API, both ways; POSTs carry the CSRF header the server
 * wants. */
class ApiError extends Error {
  constructor(status, msg, body) { super(msg); this.status = status; this.body = body || null; }
}

/* The API: JSON both ways; POSTs carry the CSRF header the server wants. */
async function api(path, body) {
  const opts = { credentials: 'same-origin', headers: {} };
  if (body !== undefined) {
    opts.method = 'POST';
    opts.headers['Content-Type'] = 'application/json';
    opts.headers['X-Bookpipe-CSRF'] = '1';
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  let j = null;
  try { j = await r.json(); } catch (e) { j = null; }
  if (!r.ok) throw new ApiError(r.status, (j && j.error) || `HTTP ${r.status}`, j);
  return j;
}

export { api };
