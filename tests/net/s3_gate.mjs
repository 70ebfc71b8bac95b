// s3_gate.mjs: an HTTP gate in front of s3rver for tests/net.sh. s3rver
// (npm) speaks the S3 API but does not check SigV4 signatures or
// Content-MD5, so this gate does, independently of bookpipe: it recomputes
// each request's signature with the aws4 package (npm) from the secret it
// was given, checks x-amz-content-sha256 and Content-MD5 against the body,
// and answers 403 SignatureDoesNotMatch / 400 BadDigest like S3. Good
// requests go on to s3rver.
//
//   node s3_gate.mjs S3RVER_PORT KEY_ID SECRET [CUT_AFTER_PARTS]
//
// With CUT_AFTER_PARTS, the gate stops (closes every connection and its
// port, like a server going down) when that many part uploads
// (PUT ...?partNumber=) have passed. Prints "port=N"; GET /_gate/stats
// tells what it checked.
import { createServer, request } from 'node:http';
import { checkSigV4 } from './sigv4.mjs';

const [, , upstreamPort, keyId, secret, cutText] = process.argv;
const cutAfter = cutText ? Number(cutText) : Infinity;
const stats = { checked: 0, refused: 0, parts: 0 };
const sockets = new Set();

function fail(res, status, code, msg) {
  stats.refused++;
  res.writeHead(status, { 'Content-Type': 'application/xml' });
  res.end(`<?xml version="1.0" encoding="UTF-8"?><Error><Code>${code}</Code><Message>${msg}</Message></Error>`);
}

const server = createServer((req, res) => {
  if (req.url === '/_gate/stats') return res.end(JSON.stringify(stats));
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    stats.checked++;
    const bad = checkSigV4(req, body, keyId, secret);
    if (bad) return fail(res, ...bad);
    if (req.method === 'PUT' && /[?&]partNumber=/.test(req.url) && ++stats.parts > cutAfter) {
      server.close();
      for (const s of sockets) s.destroy();
      return;
    }
    const up = request({ host: '127.0.0.1', port: Number(upstreamPort), method: req.method, path: req.url, headers: req.headers }, (ur) => {
      res.writeHead(ur.statusCode, ur.headers);
      ur.pipe(res);
    });
    up.on('error', () => res.destroy());
    up.end(body);
  });
});
server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
server.listen(0, '127.0.0.1', () => console.log(`port=${server.address().port}`));
