// Clock skew against a Consul server, from the `Date` header of its HTTP answer. Date has a
// resolution of one second, so the estimate carries ±0.5 s plus half the round trip.
//
// Thresholds (meshvisor's choice): ✗ when this machine is surely more than 60 s behind the server:
// Consul's CA signs leaf certificates valid from one minute before the server's clock
// (connect/ca: "A minute is more than enough for typical DC clock drift"), so a proxy here would
// find its peers' fresh certificates not valid yet. ! when surely more than 5 s off either way:
// NTP keeps machines far closer, and logs of different nodes stop lining up.
import type { CheckResult } from './check.ts';
import type { AgentProbe } from './consul-api.ts';

export const CLOCK_WARN_MS = 5_000;
export const CLOCK_FAIL_BEHIND_MS = 60_000;

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function checkClock(probes: AgentProbe[], local: Set<string>): CheckResult {
  // A server elsewhere: this node's own agent shares this machine's clock.
  const remote = probes.filter(
    (p) => !p.error && p.clock && p.which !== 'this node' && !local.has(p.host),
  );
  const servers = remote.filter((p) => p.self?.server !== false);
  const best = [...servers].sort(
    (a, b) => (a.clock?.uncertaintyMs ?? Infinity) - (b.clock?.uncertaintyMs ?? Infinity),
  )[0];
  if (!best?.clock) {
    return {
      status: 'warn',
      found: 'not checked: no Consul server on another machine answered (Consul API above)',
      fix: 'keep every machine on NTP (chrony, systemd-timesyncd, the Amazon Time Sync Service)',
    };
  }
  const { offsetMs, uncertaintyMs } = best.clock;
  const surely = Math.max(0, Math.abs(offsetMs) - uncertaintyMs);
  const direction = offsetMs > 0 ? 'behind' : 'ahead of';
  const found = `this machine is ${seconds(Math.abs(offsetMs))} ${direction} the server at ${best.addr} (±${seconds(uncertaintyMs)}, from its Date header)`;
  if (offsetMs > 0 && surely > CLOCK_FAIL_BEHIND_MS) {
    return {
      status: 'fail',
      found,
      fix: "sync the clock (NTP): Consul's CA signs certificates valid from one minute before the server's time, so proxies here would reject them as not valid yet",
    };
  }
  if (surely > CLOCK_WARN_MS) {
    return { status: 'warn', found, fix: 'sync the clock (NTP) on this machine or the server' };
  }
  return { status: 'ok', found };
}
