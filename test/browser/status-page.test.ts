// The status page at / in a real headless Chromium (Debian's chromium, driven by playwright-core;
// never a downloaded browser): it loads under its own Content-Security-Policy, shows the node's
// services and upstreams red or green with their reasons, follows the node when a check flips,
// keeps the last view when /status stops answering, and shows Consul's text as text.
//   MESHVISOR_SCREENSHOT=docs/status-page.png node scripts/test.mjs test/browser
// also writes the screenshot the docs show.
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { after, before, test } from 'node:test';
import { chromium, type Browser, type Page } from 'playwright-core';
import { createLogger } from '../../src/log.ts';
import { startStatusServer, type NodeStatus, type StatusServer } from '../../src/status/index.ts';
import { busyMesh, events, nodeStatus, program, stage } from '../helpers/status-fixture.ts';

const CHROMIUM = process.env.CHROMIUM_BIN ?? '/usr/bin/chromium';
// CI installs it (.ci/run): there a missing browser is a failure, elsewhere a skip that says why.
const skip =
  !existsSync(CHROMIUM) && process.env.CI !== 'true'
    ? `no Chromium at ${CHROMIUM} (apt-get install chromium, or set CHROMIUM_BIN)`
    : false;

/** What the fake node answers on /status now; a test changes it and the page must follow. */
let current: NodeStatus;
let failing = false;
let server: StatusServer;
let browser: Browser;

function busyNode(): NodeStatus {
  const at = (ms: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, 0, ms)).toISOString();
  const done = (name: string, from: number, to: number) =>
    stage(name, 'done', {
      startedAt: at(from),
      finishedAt: at(to),
      durationSeconds: (to - from) / 1000,
    });
  return nodeStatus({
    node: 'node1',
    stages: [
      done('http-up', 0, 420),
      done('leader-known', 420, 1100),
      done('node-synced', 1100, 1350),
      done('services-registered', 1350, 1500),
      done('config-entries', 1500, 1620),
      done('proxies-ready', 1620, 2400),
    ],
    programs: [program('consul', { pid: 42 }), program('sidecar:users-1', { pid: 57 })],
    mesh: busyMesh(),
    events: events(4),
  });
}

before(async () => {
  if (skip) return;
  current = busyNode();
  server = await startStatusServer({
    listen: '127.0.0.1:0',
    getStatus: () => {
      if (failing) throw new Error('the node status could not be read');
      return current;
    },
    logger: createLogger({ level: 'silent' }),
  });
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking'],
  });
});

after(async () => {
  await browser?.close();
  await server?.close();
});

/** A fresh tab on the page, failing the test on any console error or CSP violation. */
async function openPage(): Promise<{ page: Page; problems: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(m.text());
  });
  page.on('pageerror', (err) => problems.push(err.message));
  const res = await page.goto(server.url + '/');
  assert.equal(res?.status(), 200);
  await page.waitForSelector('[data-upstream]');
  return { page, problems };
}

const row = (page: Page, key: string) => page.locator(`[data-upstream="${key}"]`);

test(
  'the page shows the node, its services and checks, and upstreams red or green with the reason',
  { skip },
  async () => {
    current = busyNode();
    const { page, problems } = await openPage();
    try {
      assert.equal(await page.locator('#readiness').textContent(), 'READY');
      assert.match((await page.locator('h1').textContent()) ?? '', /^node1/);
      assert.equal(await page.locator('[data-stage]').count(), 6);
      assert.equal(
        await page
          .locator('[data-check="service:users-1-sidecar-proxy:2"]')
          .getAttribute('data-status'),
        'critical',
      );
      assert.match(
        (await page.locator('[data-service="users-1"]').textContent()) ?? '',
        /Service 'users' check: passing/,
      );
      const serving = row(page, 'users->todos@our_dc');
      assert.equal(await serving.getAttribute('class'), 'serving');
      assert.match((await serving.textContent()) ?? '', /can serve/);
      const failing = row(page, 'users->notifications@our_dc');
      assert.equal(await failing.getAttribute('class'), 'failing');
      assert.match(
        (await failing.textContent()) ?? '',
        /no healthy instance: notifications-1 check/,
      );
      assert.match(
        (await page.locator('#proxies').textContent()) ?? '',
        /CA root expires in 10 days/,
      );
      assert.match((await page.locator('#events').textContent()) ?? '', /event 4/);
      if (process.env.MESHVISOR_SCREENSHOT) {
        await page.screenshot({ path: process.env.MESHVISOR_SCREENSHOT, fullPage: true });
      }
      assert.deepEqual(problems, [], 'no console error and no CSP violation');
    } finally {
      await page.close();
    }
  },
);

test(
  'when a check flips the page follows: the service goes critical, its upstream red with the reason',
  { skip },
  async () => {
    current = busyNode();
    const { page, problems } = await openPage();
    try {
      const check = page.locator('[data-check="service:users-1"]');
      assert.equal(await check.getAttribute('data-status'), 'passing');
      const next = busyNode();
      const [users] = next.mesh.services;
      const [todos] = next.mesh.upstreams;
      assert.ok(users?.checks[0] && todos);
      users.checks[0] = { ...users.checks[0], status: 'critical', output: 'connection refused' };
      Object.assign(todos, {
        healthy: 0,
        reason:
          "no healthy instance: todos-1 check 'Service 'todos' check' critical: connection refused",
      });
      next.events = [
        ...next.events,
        {
          at: new Date().toISOString(),
          message: "check 'Service 'users' check' of users-1: passing -> critical",
        },
      ];
      current = next;
      await page.waitForSelector('[data-check="service:users-1"][data-status="critical"]', {
        timeout: 10_000,
      });
      await page.waitForSelector('[data-upstream="users->todos@our_dc"].failing', {
        timeout: 10_000,
      });
      assert.match(
        (await row(page, 'users->todos@our_dc').textContent()) ?? '',
        /0\/1.*no healthy instance: todos-1/,
      );
      assert.match((await page.locator('#events').textContent()) ?? '', /passing -> critical/);
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  },
);

test(
  'when /status stops answering the page says so and keeps the last view',
  { skip },
  async () => {
    current = busyNode();
    const { page } = await openPage();
    try {
      failing = true;
      await page.waitForSelector('#note.bad', { timeout: 10_000 });
      assert.match(
        (await page.locator('#note').textContent()) ?? '',
        /^cannot read \/status \(\/status answered 500\); shown as of /,
      );
      assert.equal(await page.locator('[data-upstream]').count(), 3);
    } finally {
      failing = false;
      await page.close();
    }
  },
);

test(
  "Consul's text is shown as text: markup in a check's output is not run",
  { skip },
  async () => {
    current = busyNode();
    const [users] = current.mesh.services;
    assert.ok(users?.checks[0]);
    users.checks[0].output = '<img src=x id=injected onerror="document.title=\'pwned\'">';
    const { page, problems } = await openPage();
    try {
      assert.equal(await page.locator('#injected').count(), 0);
      assert.match(
        (await page.locator('[data-service="users-1"]').textContent()) ?? '',
        /<img src=x id=injected/,
      );
      assert.doesNotMatch(await page.title(), /pwned/);
      assert.deepEqual(problems, []);
    } finally {
      await page.close();
    }
  },
);
