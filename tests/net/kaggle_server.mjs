// kaggle_server.mjs: a stand-in for Kaggle's download endpoint, on
// loopback, for tests/kaggle.sh.
//
//   node kaggle_server.mjs ZIP USER KEY
//
// The API (127.0.0.1) checks HTTP basic auth and answers
// /api/v1/datasets/download/OWNER/NAME with a 302 to the "storage" host
// (127.0.0.2, another host, as Kaggle redirects to Google storage), which
// serves ZIP with an ETag and Last-Modified, honours If-None-Match (304) and
// Range + If-Range (206). nobody/missing is a 404, owner/forbidden a 403.
// POST /control/cut makes the next storage answer stop half-way (a dropped
// connection); GET /control/stats tells what storage saw. Prints
// "api=URL" once both listen.
import { createServer } from 'node:http';
import { readFileSync, statSync } from 'node:fs';
import { createHash } from 'node:crypto';

const [, , zipPath, user, key] = process.argv;
const zip = readFileSync(zipPath);
const etag = `"${createHash('md5').update(zip).digest('hex')}"`;
const modified = statSync(zipPath).mtime.toUTCString();
const stats = { full: 0, partial: 0, not_modified: 0, auth_seen_on_storage: 0, cut: 0 };
let cutNext = false;

const storage = createServer((req, res) => {
  if (req.headers.authorization) stats.auth_seen_on_storage++;
  if (req.headers['if-none-match'] === etag) {
    stats.not_modified++;
    res.writeHead(304, { ETag: etag });
    return res.end();
  }
  const range = /^bytes=(\d+)-$/.exec(req.headers.range || '');
  const sameFile = !req.headers['if-range'] || req.headers['if-range'] === etag;
  if (range && sameFile && Number(range[1]) < zip.length) {
    const from = Number(range[1]);
    stats.partial++;
    res.writeHead(206, {
      ETag: etag, 'Last-Modified': modified, 'Content-Length': zip.length - from,
      'Content-Range': `bytes ${from}-${zip.length - 1}/${zip.length}`,
    });
    return res.end(zip.subarray(from));
  }
  res.writeHead(200, { ETag: etag, 'Last-Modified': modified, 'Content-Length': zip.length, 'Content-Type': 'application/zip' });
  if (cutNext) {
    cutNext = false;
    stats.cut++;
    res.write(zip.subarray(0, Math.floor(zip.length / 2)));
    setTimeout(() => res.destroy(), 50);
    return;
  }
  stats.full++;
  res.end(zip);
});

const api = createServer((req, res) => {
  if (req.url === '/control/cut' && req.method === 'POST') { cutNext = true; return res.end('ok\n'); }
  if (req.url === '/control/stats') { res.setHeader('Content-Type', 'application/json'); return res.end(JSON.stringify(stats)); }
  const m = /^\/api\/v1\/datasets\/download\/([^/]+)\/([^/?]+)$/.exec(req.url);
  if (!m) { res.writeHead(404); return res.end('{"code":404,"message":"Not found"}'); }
  const want = `Basic ${Buffer.from(`${user}:${key}`).toString('base64')}`;
  if (req.headers.authorization !== want) {
    res.writeHead(401, { 'Content-Type': 'application/json', 'WWW-Authenticate': 'Basic realm="kaggle"' });
    return res.end('{"code":401,"message":"Unauthenticated"}');
  }
  if (`${m[1]}/${m[2]}` === 'nobody/missing') { res.writeHead(404); return res.end('{"code":404,"message":"Not found"}'); }
  if (`${m[1]}/${m[2]}` === 'owner/forbidden') { res.writeHead(403); return res.end('{"code":403,"message":"Forbidden"}'); }
  res.writeHead(302, { Location: `http://127.0.0.2:${storage.address().port}/storage/${m[1]}/${m[2]}.zip?sig=abc` });
  res.end();
});

storage.listen(0, '127.0.0.2', () => api.listen(0, '127.0.0.1', () => {
  console.log(`api=http://127.0.0.1:${api.address().port}`);
}));
