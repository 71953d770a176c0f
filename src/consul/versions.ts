// Consul's release lines as meshvisor meets them: the agent config keys whose names depend on
// the line (read by render and by doctor's version check), and which Envoy lines each Consul
// line supports (the matrix of docs/images.md; test/unit/doctor-matrix.test.ts compares them).

/** The oldest line meshvisor renders for, and the one it renders for when consul.version is unset. */
export const OLDEST_CONSUL_LINE = '1.10';

/** An agent config key Consul renamed or moved, and the first line that reads the new name. */
export interface VersionedKey {
  key: string;
  /** What the lines before `since` read instead. */
  before: string;
  since: string;
}

export const VERSIONED_KEYS = {
  /** 1.10 rejects the new names of the bootstrap tokens (recording 11/00). */
  initialManagement: {
    key: 'acl.tokens.initial_management',
    before: 'acl.tokens.master',
    since: '1.11',
  },
  agentRecovery: {
    key: 'acl.tokens.agent_recovery',
    before: 'acl.tokens.agent_master',
    since: '1.11',
  },
  /** From 1.12 the top-level TLS keys are deprecated. */
  tlsDefaults: { key: 'tls.defaults', before: 'the top-level TLS keys', since: '1.12' },
} as const satisfies Record<string, VersionedKey>;

/** The first line whose servers listen for gRPC over TLS on 8503 by default. */
export const GRPC_TLS_PORT_SINCE = '1.14';
export const GRPC_TLS_PORT = 8503;

/**
 * The agent's gRPC TLS port from 1.14, where `ports.grpc` no longer serves TLS: 8503 on a server
 * (Consul's default), and on any agent with TLS, whose config must then name `ports.grpc_tls`
 * (1.14.9 exits 1 otherwise: "the `ports.grpc` listener no longer supports TLS", seen here).
 * Null before 1.14, and on a 1.14 client without TLS (Consul's default, off).
 */
export function grpcTlsPort(
  consulLine: string,
  { isServer, tls }: { isServer: boolean; tls: boolean },
): number | null {
  return lineAtLeast(consulLine, GRPC_TLS_PORT_SINCE) && (isServer || tls) ? GRPC_TLS_PORT : null;
}

/** The line meshvisor renders for: consul.version's, else the oldest. */
export function renderedLine(consulVersion: string | undefined): string {
  return (consulVersion && line(consulVersion)) || OLDEST_CONSUL_LINE;
}

/** Whether a line ("1.12") is `since` or later. */
export function lineAtLeast(releaseLine: string, since: string): boolean {
  return compareLines(releaseLine, since) >= 0;
}

/** Which Envoy lines each Consul line supports. Any patch of a listed Envoy line is accepted. */

export const ENVOY_LINES_BY_CONSUL: Readonly<Record<string, readonly string[]>> = {
  '1.8': ['1.14', '1.13', '1.12', '1.11'],
  // The recorded 1.10.12's xDS.SupportedProxies: 1.20.2, 1.18.6, 1.17.4, 1.16.5, 1.15.5.
  '1.10': ['1.20', '1.18', '1.17', '1.16', '1.15'],
  '1.13': ['1.23', '1.22', '1.21', '1.20'],
  '1.14': ['1.24', '1.23', '1.22', '1.21'],
  '1.15': ['1.25', '1.24', '1.23', '1.22'],
  '1.16': ['1.26', '1.25', '1.24', '1.23'],
  '1.17': ['1.27', '1.26', '1.25', '1.24'],
  '1.18': ['1.28', '1.27', '1.26', '1.25'],
  '1.20': ['1.31', '1.30', '1.29', '1.28'],
  '1.21': ['1.34', '1.33', '1.32', '1.31'],
  '1.22': ['1.35', '1.34', '1.33', '1.32'],
};

/** The first Consul line whose `consul connect envoy` refuses an unsupported Envoy. */
export const ENVOY_CHECK_SINCE = '1.15';

/** "1.20.2" -> "1.20" (Consul's or Envoy's); undefined for something that is not a version. */
export function line(version: string): string | undefined {
  const match = /^v?(\d+)\.(\d+)(?:\.\d+)?/.exec(version.trim());
  return match ? `${Number(match[1])}.${Number(match[2])}` : undefined;
}

/** Compares "1.10" and "1.9" as versions. */
export function compareLines(a: string, b: string): number {
  const [am = 0, an = 0] = a.split('.').map(Number);
  const [bm = 0, bn = 0] = b.split('.').map(Number);
  return am - bm || an - bn;
}
