// The ecs-metadata source against a local HTTP server (127.0.0.1, random port) serving the
// documented task metadata v4 response, and its error, slow and abort cases.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AddressError, discoverAddress, type AddressOptions } from '../../src/net/index.ts';
import { localHttpServer } from '../helpers/http-server.ts';

// The documented shape of `${ECS_CONTAINER_METADATA_URI_V4}/task` for an awsvpc task (abridged:
// fields we do not read are kept to show they are ignored).
function taskMetadata(taskIp: string) {
  const network = {
    NetworkMode: 'awsvpc',
    IPv4Addresses: [taskIp],
    AttachmentIndex: 0,
    MACAddress: '0e:9e:32:c7:48:85',
    IPv4SubnetCIDRBlock: '10.0.0.0/24',
    PrivateDNSName: 'ip-10-0-0-108.us-west-2.compute.internal',
    SubnetGatewayIpv4Address: '10.0.0.1/24',
  };
  const container = (name: string) => ({
    DockerId: `${name}-0123456789`,
    Name: name,
    DockerName: `ecs-task-${name}`,
    Image: `example/${name}:latest`,
    Labels: { 'com.amazonaws.ecs.container-name': name },
    DesiredStatus: 'RUNNING',
    KnownStatus: 'RUNNING',
    Limits: { CPU: 0, Memory: 0 },
    Type: 'NORMAL',
    Networks: [network],
  });
  return {
    Cluster: 'arn:aws:ecs:us-west-2:111122223333:cluster/default',
    TaskARN: 'arn:aws:ecs:us-west-2:111122223333:task/default/158d1c8083dd49d6b527399fd6414f5c',
    Family: 'mesh-node',
    Revision: '3',
    DesiredStatus: 'RUNNING',
    KnownStatus: 'RUNNING',
    Limits: { CPU: 0.25, Memory: 512 },
    AvailabilityZone: 'us-west-2a',
    LaunchType: 'FARGATE',
    Containers: [container('meshvisor'), container('app')],
  };
}

type Handler = (request: IncomingMessage, response: ServerResponse, count: number) => void;

/** A metadata endpoint on 127.0.0.1:<random>; returns the env that points discovery at it. */
async function metadataServer(t: { after(fn: () => Promise<void>): void }, handler: Handler) {
  let count = 0;
  const paths: string[] = [];
  const { port } = await localHttpServer(t, (request, response) => {
    paths.push(request.url ?? '');
    handler(request, response, ++count);
  });
  const env = { ECS_CONTAINER_METADATA_URI_V4: `http://127.0.0.1:${port}/v4/abc-123` };
  return { env, paths, requests: () => count };
}

function sendJson(response: ServerResponse, status: number, body: unknown) {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify(body));
}

const ECS: AddressOptions = { interface: 'eth0', waitSeconds: 10, source: 'ecs-metadata' };

test('ecs-metadata: the task IPv4 from the documented response', async (t) => {
  const endpoint = await metadataServer(t, (_req, res) =>
    sendJson(res, 200, taskMetadata('10.0.0.108')),
  );
  assert.equal(await discoverAddress(ECS, { env: endpoint.env }), '10.0.0.108');
  assert.deepEqual(endpoint.paths, ['/v4/abc-123/task']);
});

test('ecs-metadata: errors and a response without an address are retried', async (t) => {
  const endpoint = await metadataServer(t, (_req, res, count) => {
    if (count === 1) sendJson(res, 500, { error: 'agent starting' });
    else if (count === 2)
      sendJson(res, 200, { ...taskMetadata('10.0.0.9'), Containers: [{ Name: 'x' }] });
    else sendJson(res, 200, taskMetadata('10.0.0.9'));
  });
  const waits: string[] = [];
  const address = await discoverAddress(ECS, { env: endpoint.env, onWait: (m) => waits.push(m) });
  assert.equal(address, '10.0.0.9');
  assert.equal(endpoint.requests(), 3);
  assert.deepEqual(waits, [
    'task metadata not ready (HTTP 500: {"error":"agent starting"}); retrying up to 10 s',
    'task metadata not ready (the response has no Containers[].Networks[] (awsvpc) with an ' +
      'IPv4Addresses[0]); retrying up to 10 s',
  ]);
});

test('ecs-metadata: a slow endpoint fails at the deadline with the last problem', async (t) => {
  const endpoint = await metadataServer(t, () => {
    // never answers
  });
  const started = performance.now();
  await assert.rejects(
    discoverAddress({ ...ECS, waitSeconds: 1 }, { env: endpoint.env }),
    (error: AddressError) => {
      assert.ok(error instanceof AddressError);
      assert.equal(error.kind, 'unavailable');
      assert.match(
        error.message,
        /^no task IPv4 from http:\/\/127\.0\.0\.1:\d+\/v4\/abc-123\/task/,
      );
      assert.match(error.message, /within 1 s; last problem: no answer within 1000 ms$/);
      return true;
    },
  );
  const elapsed = performance.now() - started;
  assert.ok(elapsed >= 900 && elapsed < 5_000, `took ${elapsed} ms`);
});

test('ecs-metadata: a missing variable, a URL that is not http:// or another network mode fails at once', async (t) => {
  await assert.rejects(discoverAddress(ECS, { env: {} }), {
    name: 'AddressError',
    kind: 'config',
    message: /needs \$ECS_CONTAINER_METADATA_URI_V4, which is not set/,
  });
  await assert.rejects(
    discoverAddress(ECS, { env: { ECS_CONTAINER_METADATA_URI_V4: 'https://169.254.170.2/v4/x' } }),
    { kind: 'config', message: /is not an http:\/\/ URL: "https:\/\/169\.254\.170\.2\/v4\/x"$/ },
  );
  const bridgeMode = taskMetadata('172.17.0.2');
  for (const container of bridgeMode.Containers) container.Networks[0]!.NetworkMode = 'bridge';
  const endpoint = await metadataServer(t, (_req, res) => sendJson(res, 200, bridgeMode));
  await assert.rejects(discoverAddress(ECS, { env: endpoint.env }), {
    kind: 'config',
    message:
      'address.source ecs-metadata needs the awsvpc network mode, but the task uses bridge; ' +
      'use address.source: interface (or address.ip)',
  });
});

test('ecs-metadata: an abort ends the wait at once with the signal reason', async (t) => {
  const endpoint = await metadataServer(t, (_req, res) => sendJson(res, 503, {}));
  const controller = new AbortController();
  setTimeout(() => controller.abort(new Error('stopping')), 300);
  const started = performance.now();
  await assert.rejects(discoverAddress(ECS, { env: endpoint.env, signal: controller.signal }), {
    message: 'stopping',
  });
  assert.ok(performance.now() - started < 2_000);
});
