// `status.listen`, read one way by the schema, the status endpoint, the doctor and the CLI's
// default URL. No zod here: the light commands (`status`, `reload`: a HEALTHCHECK every few
// seconds) import it.
import { isIPv6 } from 'node:net';

/** Where the status endpoint listens unless `status.listen` says otherwise. */
export const DEFAULT_STATUS_LISTEN = '127.0.0.1:9555';

/** Where something listens: an IP literal (never a hostname) and a port (0: any free one). */
export interface ListenAddress {
  host: string;
  port: number;
}

const IPV4_OCTET = '(?:25[0-5]|2[0-4]\\d|1\\d\\d|[1-9]?\\d)';
export const IPV4_PATTERN = new RegExp(`^${IPV4_OCTET}(?:\\.${IPV4_OCTET}){3}$`);
const EXPECTED = 'expected IPv4:PORT (127.0.0.1:9555) or [IPv6]:PORT ([::1]:9555)';

/**
 * `IPv4:PORT` or `[IPv6]:PORT` (a zone such as `%eth0` allowed). A hostname is refused: the
 * endpoint binds it, and `localhost` is 127.0.0.1 in one image and ::1 in another. Throws an
 * Error saying what is wrong.
 */
export function parseListenAddress(value: string): ListenAddress {
  const match = /^(?:\[([^\]]+)\]|([^:[\]]+)):(\d{1,5})$/.exec(value);
  if (!match) throw new Error(EXPECTED);
  const [, v6, v4 = '', digits] = match;
  // Only a bracketed host meets isIPv6: its regex costs ~5 ms on first use under --lite-mode.
  if (v6 !== undefined ? !isIPv6(v6) : !IPV4_PATTERN.test(v4)) {
    const host = v6 ?? v4;
    const kind = /^[\d.]+$/.test(host) || v6 !== undefined ? 'not an IP address' : 'a hostname';
    throw new Error(`"${host}" is ${kind}; ${EXPECTED}`);
  }
  const port = Number(digits);
  if (port > 65535) throw new Error(`port ${port} is over 65535`);
  return { host: v6 ?? v4, port };
}

/** The URL that reaches a listen address: a wildcard through loopback, IPv6 in brackets. */
export function listenUrl(listen: string | ListenAddress): string {
  const { host, port } = typeof listen === 'string' ? parseListenAddress(listen) : listen;
  const reachable = host === '0.0.0.0' ? '127.0.0.1' : host === '::' ? '::1' : host;
  return `http://${reachable.includes(':') ? `[${reachable}]` : reachable}:${port}`;
}
