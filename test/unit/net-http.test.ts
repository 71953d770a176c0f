// src/net/http.ts: one exchange over node:http against a local server (any status is an answer;
// no answer, a deadline, an abort and an answer cut short are errors with a code).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { RequestListener } from 'node:http';
import { httpRequest, type HttpRequestError } from '../../src/net/http.ts';
import { localHttpServer } from '../helpers/http-server.ts';

async function serve(t: { after(fn: () => Promise<void>): void }, listener: RequestListener) {
  return (await localHttpServer(t, listener)).url;
}

test('any status is an answer, with its headers; the method, headers and body are sent', async (t) => {
  const base = await serve(t, (req, res) => {
    let body = '';
    req.on('data', (chunk: Buffer) => (body += chunk.toString()));
    req.on('end', () =>
      res
        .writeHead(418, [
          ['X-Consul-Default-ACL-Policy', 'deny'],
          ['Vary', 'A'],
          ['Vary', 'B'],
        ])
        .end(
          `${req.method} ${req.url} ${req.headers['x-consul-token']} ${body} ${req.headers.connection}`,
        ),
    );
  });
  const answer = await httpRequest(`${base}/v1/config?cas=0`, {
    method: 'PUT',
    headers: { 'X-Consul-Token': 't' },
    body: '{"Kind":"ü"}',
    timeoutMs: 2000,
  });
  assert.equal(answer.status, 418);
  assert.equal(answer.body, 'PUT /v1/config?cas=0 t {"Kind":"ü"} close');
  assert.equal(answer.headers.get('x-consul-default-acl-policy'), 'deny');
  assert.equal(answer.headers.get('vary'), 'A, B');
});

test('no answer: refused, past the deadline, aborted, or cut short', async (t) => {
  await assert.rejects(httpRequest('http://127.0.0.1:1/', { timeoutMs: 2000 }), {
    name: 'HttpRequestError',
    code: 'ECONNREFUSED',
  });

  const silent = await serve(t, () => {
    // never answers
  });
  await assert.rejects(httpRequest(silent, { timeoutMs: 100 }), (err: HttpRequestError) => {
    assert.equal(err.code, 'ETIMEDOUT');
    assert.equal(err.message, 'no answer within 100 ms');
    return true;
  });

  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stopping')), 50);
  await assert.rejects(httpRequest(silent, { timeoutMs: 5000, signal: controller.signal }), {
    message: 'stopping',
  });
  await assert.rejects(httpRequest(silent, { timeoutMs: 5000, signal: controller.signal }), {
    message: 'stopping',
  });

  const cut = await serve(t, (_req, res) => {
    res.writeHead(200, { 'Content-Length': '100' });
    res.write('partial');
    setTimeout(() => res.destroy(), 20);
  });
  await assert.rejects(httpRequest(cut, { timeoutMs: 2000 }), { code: 'ECONNRESET' });
});
