// slowloris.mjs: hold N connections that trickle a request one byte at a
// time, and meanwhile ask /api/health once a second. Prints one JSON line:
// how many health checks answered 200 (and the slowest, in ms), and how
// many slow connections the server had cut when the probe ended.
//
//   node slowloris.mjs PORT N SECONDS
import net from 'node:net';
import http from 'node:http';

const [, , portText, nText, secText] = process.argv;
const port = Number(portText), n = Number(nText), seconds = Number(secText);
const slow = [];
let cut = 0;

for (let i = 0; i < n; i++) {
  const s = net.connect(port, '127.0.0.1');
  s.on('error', () => {});
  s.on('close', () => { s.closedAt = Date.now(); cut++; });
  s.write('GET /api/health HTTP/1.1\r\nHost: 127.0.0.1\r\n');
  s.timer = setInterval(() => { if (!s.destroyed) s.write('X'); }, 1000);
  slow.push(s);
}

const results = [];
function health() {
  const t0 = Date.now();
  return new Promise((resolve) => {
    const req = http.get({ host: '127.0.0.1', port, path: '/api/health', timeout: 5000,
                           agent: false }, (res) => {
      res.resume();
      res.on('end', () => resolve({ status: res.statusCode, ms: Date.now() - t0 }));
    });
    req.on('timeout', () => { req.destroy(); resolve({ status: 0, ms: Date.now() - t0 }); });
    req.on('error', () => resolve({ status: -1, ms: Date.now() - t0 }));
  });
}

const end = Date.now() + seconds * 1000;
while (Date.now() < end) {
  results.push(await health());
  await new Promise((r) => setTimeout(r, 1000));
}
for (const s of slow) { clearInterval(s.timer); s.destroy(); }
const okCount = results.filter((r) => r.status === 200).length;
console.log(JSON.stringify({ checks: results.length, ok: okCount,
  slowest_ms: Math.max(...results.map((r) => r.ms)), cut_by_server: cut }));
process.exit(0);
