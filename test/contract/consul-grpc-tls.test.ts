// `ports.grpc_tls` against the real Consuls' answers (test/recordings/consul-1.14.9/19-grpc-tls):
// 1.14.9 with TLS exits 1 without it and starts with it; 1.10.12 refuses the key. So the render
// names it for 1.14 only, and the consul double (1.10.12) refuses it with 1.10.12's words.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { test } from 'node:test';
import { renderAgentConfig } from '../../src/render/agent.ts';
import { parseSpec } from '../../src/spec/index.ts';
import { validateKeys } from '../doubles/consul/config.ts';

const recording = (name: string) =>
  readFileSync(new URL(`../recordings/consul-1.14.9/19-grpc-tls/${name}`, import.meta.url), 'utf8');

/** A server with TLS, as in the recording, rendered for `version`. */
const ports = (version: string) =>
  renderAgentConfig(
    parseSpec({
      datacenter: 'dc1',
      role: 'server',
      nodeName: 'rec',
      consul: {
        version,
        tls: { caFile: '/ca.pem', certFile: '/c.pem', keyFile: '/k.pem', verifyOutgoing: true },
      },
    }),
    '127.0.0.1',
  ).ports as Record<string, unknown>;

test('1.14 with TLS: the render names ports.grpc_tls 8503, which 1.14.9 needs to start', () => {
  assert.match(recording('grpc-tls-refused.log'), /Use `ports\.grpc_tls` instead/);
  assert.match(recording('grpc-tls-refused.log'), /^Exit code: 1$/m);
  assert.match(recording('grpc-tls-started.log'), /gRPC: 8502, gRPC-TLS: 8503/);
  assert.equal(ports('1.14.9').grpc_tls, 8503);
  assert.equal(ports('1.14.9').grpc, 8502);
});

test('1.10: no ports.grpc_tls, and the double refuses the key as the real 1.10.12 does', () => {
  assert.equal('grpc_tls' in ports('1.10.12'), false);
  const real = recording('grpc-tls-on-1.10.12.log');
  assert.throws(
    () => validateKeys('p.json', { ports: { grpc_tls: 8503 } }),
    (err: Error) => {
      // The double's message is the real agent's lines after its `==> `.
      assert.ok(real.startsWith(`==> ${err.message.trimEnd()}`), `${err.message} vs ${real}`);
      return true;
    },
  );
});
