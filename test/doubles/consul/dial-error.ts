// How Go's net package words a failed dial, for a Node socket error: the one mapping the agent
// (checks, relay to the server) and the api client (CLI, connect commands, envoy double) share.

const DIAL_ERRORS: Record<string, string> = {
  ECONNREFUSED: 'connect: connection refused',
  EHOSTUNREACH: 'connect: no route to host',
  ENETUNREACH: 'connect: network is unreachable',
  ECONNRESET: 'read: connection reset by peer',
  EADDRNOTAVAIL: 'connect: cannot assign requested address',
  ETIMEDOUT: 'i/o timeout',
};

/** "dial tcp 127.0.0.1:8080: connect: connection refused" for a Node socket error. */
export function dialError(err: NodeJS.ErrnoException, addr: string): string {
  if (err.code === 'ENOTFOUND' || err.code === 'EAI_AGAIN') {
    return `dial tcp: lookup ${addr.replace(/:\d+$/, '')}: no such host`;
  }
  const text = (err.code && DIAL_ERRORS[err.code]) ?? err.message;
  return `dial tcp ${addr}: ${text}`;
}
