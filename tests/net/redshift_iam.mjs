// redshift_iam.mjs: a stand-in for Redshift's credentials APIs, for the
// temporary-credentials test in tests/run.sh. Checks each request's SigV4
// signature (sigv4.mjs) and answers
//  - GetClusterCredentials (provisioned; a form POST, an XML answer) and
//  - RedshiftServerless.GetCredentials (a JSON POST, a JSON answer)
// with USER / PASSWORD: the test PostgreSQL's login, so that the connection
// made with them proves the whole path.
//
//   node redshift_iam.mjs KEY_ID SECRET USER PASSWORD
//
// Prints "port=N"; GET /_stats says what was asked.
import { createServer } from 'node:http';
import { checkSigV4 } from './sigv4.mjs';

const [, , keyId, secret, user, password] = process.argv;
const stats = { cluster: 0, serverless: 0, refused: 0, last_db_user: null };

createServer((req, res) => {
  if (req.url === '/_stats') return res.end(JSON.stringify(stats));
  const chunks = [];
  req.on('data', (c) => chunks.push(c));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const bad = checkSigV4(req, body, keyId, secret);
    if (bad) {
      stats.refused++;
      res.writeHead(bad[0], { 'Content-Type': 'text/xml' });
      return res.end(`<ErrorResponse><Error><Code>${bad[1]}</Code><Message>${bad[2]}</Message></Error></ErrorResponse>`);
    }
    if (req.headers['x-amz-target'] === 'RedshiftServerless.GetCredentials') {
      stats.serverless++;
      res.writeHead(200, { 'Content-Type': 'application/x-amz-json-1.1' });
      return res.end(JSON.stringify({ dbUser: user, dbPassword: password, expiration: Date.now() / 1000 + 900 }));
    }
    const form = new URLSearchParams(body.toString());
    if (form.get('Action') !== 'GetClusterCredentials' || !form.get('ClusterIdentifier') || !form.get('DbUser')) {
      stats.refused++;
      res.writeHead(400);
      return res.end('<ErrorResponse><Error><Code>InvalidParameterValue</Code><Message>bad request</Message></Error></ErrorResponse>');
    }
    stats.cluster++;
    stats.last_db_user = form.get('DbUser');
    res.writeHead(200, { 'Content-Type': 'text/xml' });
    res.end(`<GetClusterCredentialsResponse><GetClusterCredentialsResult><DbUser>${user}</DbUser><DbPassword>${password}</DbPassword><Expiration>2030-01-01T00:00:00Z</Expiration></GetClusterCredentialsResult></GetClusterCredentialsResponse>`);
  });
}).listen(0, '127.0.0.1', function () { console.log(`port=${this.address().port}`); });
