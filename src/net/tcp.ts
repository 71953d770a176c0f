// A TCP connect with a deadline, as the doctor's probes and the join pre-check use it.
import { connect } from 'node:net';

export type ConnectResult =
  { ok: true; ms: number } | { ok: false; ms: number; code: string; reason: string };

/** Whether host:port accepts a TCP connection within the deadline (the connection is closed). */
export function tcpConnect(host: string, port: number, timeoutMs: number): Promise<ConnectResult> {
  const started = performance.now();
  const elapsed = () => Math.round(performance.now() - started);
  return new Promise((resolve) => {
    const socket = connect({ host, port });
    const timer = setTimeout(() => {
      socket.destroy();
      resolve({
        ok: false,
        ms: elapsed(),
        code: 'ETIMEDOUT',
        reason: `no answer within ${timeoutMs / 1000} s (dropped by a firewall or security group, or nothing there)`,
      });
    }, timeoutMs);
    socket.once('connect', () => {
      clearTimeout(timer);
      socket.destroy();
      resolve({ ok: true, ms: elapsed() });
    });
    socket.once('error', (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      socket.destroy();
      const code = err.code ?? 'ERROR';
      const reasons: Record<string, string> = {
        ECONNREFUSED: 'connection refused (nothing listens there)',
        EHOSTUNREACH: 'no route to the host',
        ENETUNREACH: 'the network is unreachable from here',
      };
      resolve({ ok: false, ms: elapsed(), code, reason: reasons[code] ?? err.message });
    });
  });
}

/** True when something accepts a TCP connection at host:port (the built-in proxy's listener). */
export async function acceptsTcp(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return (await tcpConnect(host, port, timeoutMs)).ok;
}
