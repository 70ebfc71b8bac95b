// listener.mjs: a loopback HTTP server that records every request it gets,
// to prove that something did NOT make the process under test call out.
//
//   node listener.mjs LOGFILE    (prints "port=N")
import http from 'node:http';
import fs from 'node:fs';

const log = process.argv[2];
fs.writeFileSync(log, '');
const server = http.createServer((req, res) => {
  fs.appendFileSync(log, `${req.method} ${req.url}\n`);
  res.writeHead(404);
  res.end();
});
server.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));
