// sigv4.mjs: check an incoming request's AWS SigV4 signature, payload hash
// and Content-MD5, independently of bookpipe (the aws4 package recomputes the
// signature from the headers the request says it signed). Used by the test
// stand-ins s3_gate.mjs and redshift_iam.mjs.
import { createHash } from 'node:crypto';
import { createRequire } from 'node:module';

const aws4 = createRequire(new URL('../../web/package.json', import.meta.url))('aws4');

// null when the request is good, else [status, code, message] as AWS says it.
export function checkSigV4(req, body, keyId, secret) {
  const auth = req.headers.authorization || '';
  if (!auth.startsWith('AWS4-HMAC-SHA256 ')) return [403, 'AccessDenied', 'unsigned request'];
  const cred = /Credential=([^/]+)\/\d{8}\/([^/]+)\/([^/]+)\//.exec(auth);
  if (!cred || cred[1] !== keyId) {
    return [403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.'];
  }
  const signed = /SignedHeaders=([^,]+)/.exec(auth)[1].split(';');
  const headers = {};
  for (const h of signed) if (h !== 'host') headers[h] = req.headers[h];
  // aws4 adds Content-Type and Content-Length for a body: leave them out
  // unless the request signed them
  const extraHeadersToIgnore = {};
  for (const h of ['content-type', 'content-length']) if (!signed.includes(h)) extraHeadersToIgnore[h] = true;
  const opts = { host: req.headers.host, path: req.url, method: req.method, service: cred[3], region: cred[2], headers, body: body.length ? body : undefined, extraHeadersToIgnore };
  aws4.sign(opts, { accessKeyId: keyId, secretAccessKey: secret });
  const want = /Signature=([0-9a-f]+)/.exec(opts.headers.Authorization)[1];
  const given = /Signature=([0-9a-f]+)/.exec(auth);
  if (!given || given[1] !== want) {
    return [403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.'];
  }
  const sha = req.headers['x-amz-content-sha256'];
  if (sha && sha !== 'UNSIGNED-PAYLOAD' && sha !== createHash('sha256').update(body).digest('hex')) {
    return [400, 'XAmzContentSHA256Mismatch', 'The provided x-amz-content-sha256 header does not match what was computed.'];
  }
  const md5 = req.headers['content-md5'];
  if (md5 && md5 !== createHash('md5').update(body).digest('base64')) {
    return [400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.'];
  }
  return null;
}
