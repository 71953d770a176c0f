#!/usr/bin/env node
// What a HEALTHCHECK pays every few seconds: `meshvisor status --ready` from the bundle, against
// `node -e 0` (the floor: starting Node at all). Not a test: run it, read the numbers. The bundle
// is executed as the HEALTHCHECK executes it: `env -S` and its shebang's node flags included.
//
//   node scripts/build.mjs && node bench/status-cli.mjs [--runs N] [--bundle dist/meshvisor.mjs]
//
// The endpoint is a stub answering /readyz like meshvisor does, so only the CLI's cost is timed.
// Runs are sequential and interleaved (one of each case per round), so machine noise is shared.
import { spawn } from 'node:child_process';
import { createServer } from 'node:http';
import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    runs: { type: 'string', default: '30' },
    bundle: { type: 'string', default: 'dist/meshvisor.mjs' },
  },
});
const runs = Number(values.runs);
const bundle = values.bundle;

const server = createServer((req, res) => {
  const body = '{"ready":true}\n';
  res.writeHead(req.url === '/readyz' ? 200 : 404, { 'Content-Type': 'application/json' });
  res.end(body);
});
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve));
const url = `http://127.0.0.1:${server.address().port}`;
const refused = await unusedPort();

const cases = [
  { name: 'node -e 0', cmd: process.execPath, args: ['-e', '0'], exit: 0 },
  { name: 'meshvisor --version', cmd: bundle, args: ['--version'], exit: 0 },
  {
    name: 'meshvisor status --ready (ready)',
    cmd: bundle,
    args: ['status', '--ready', '--url', url],
    exit: 0,
  },
  {
    name: 'meshvisor status --ready (refused)',
    cmd: bundle,
    args: ['status', '--ready', '--url', `http://127.0.0.1:${refused}`],
    exit: 1,
  },
];

const times = new Map(cases.map((c) => [c.name, []]));
for (const c of cases) await run(c); // warm the page cache once
for (let round = 0; round < runs; round++) {
  for (const c of cases) times.get(c.name).push(await run(c));
}
server.close();

const floor = median(times.get('node -e 0'));
console.log(
  `${runs} runs each, bundle ${bundle} (${Math.round(statSync(bundle).size / 1024)} KiB), node ${process.version}`,
);
console.log(
  'case                                  median     min     p90     max   over node -e 0',
);
for (const c of cases) {
  const t = [...times.get(c.name)].sort((a, b) => a - b);
  const m = median(t);
  const over = c.name === 'node -e 0' ? '' : `${(m - floor).toFixed(1).padStart(7)} ms`;
  console.log(
    `${c.name.padEnd(36)} ${ms(m)} ${ms(t[0])} ${ms(t[Math.floor(t.length * 0.9)])} ${ms(t.at(-1))}  ${over}`,
  );
}

function run(c) {
  return new Promise((resolve, reject) => {
    const started = process.hrtime.bigint();
    const child = spawn(c.cmd, c.args, { stdio: 'ignore' });
    child.on('error', reject);
    child.on('close', (code) => {
      if (code !== c.exit) reject(new Error(`${c.name}: exit ${code}, expected ${c.exit}`));
      else resolve(Number(process.hrtime.bigint() - started) / 1e6);
    });
  });
}

function median(list) {
  const t = [...list].sort((a, b) => a - b);
  const mid = Math.floor(t.length / 2);
  return t.length % 2 ? t[mid] : (t[mid - 1] + t[mid]) / 2;
}

function ms(value) {
  return `${value.toFixed(1).padStart(6)}ms`.padStart(8);
}

async function unusedPort() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const { port } = probe.address();
  await new Promise((resolve) => probe.close(resolve));
  return port;
}
