// For tests that run doubles on 127.0.0.1: a free port, a plain GET, and polling until ready.
import { get } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createServer } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';

/** A TCP port free on 127.0.0.1 right now (bound, then released). */
export async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

/** GET http://127.0.0.1:<port><path> on a fresh connection: the status and the body text. */
export function httpGetText(port: number, path: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const req = get({ host: '127.0.0.1', port, path, agent: false }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on('error', reject);
  });
}

/**
 * Calls `fn` every `pollMs` until it resolves to something other than undefined (a throw is
 * "not yet"); rejects with "timed out[ waiting for <what>]" after `timeoutMs`.
 */
export async function eventually<T>(
  fn: () => Promise<T | undefined>,
  {
    timeoutMs = 8000,
    pollMs = 25,
    what,
  }: { timeoutMs?: number; pollMs?: number; what?: string } = {},
): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch {
      // not yet
    }
    if (Date.now() > end) throw new Error(what ? `timed out waiting for ${what}` : 'timed out');
    await sleep(pollMs);
  }
}
