// Which Envoy lines each Consul line supports: the matrix of docs/images.md (keep them equal;
// test/unit/doctor-matrix.test.ts compares them). Any patch of a listed Envoy line is accepted.

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

/** "1.20.2" -> "1.20"; undefined for something that is not a version. */
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
