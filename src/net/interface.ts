// The IPv4 of a named interface, read from the OS (getifaddrs via os.networkInterfaces()), polled
// until it appears: in a container, eth0 may get its address after the entrypoint starts.
//
// Link-local addresses (169.254.0.0/16) are never chosen: on eth0 they mean "no DHCP lease yet"
// (or a link-only setup), and a Consul node advertising one cannot be reached off its link. We keep
// waiting for a routable one; the timeout error names the link-local address, and `address.ip`
// uses it anyway for whoever means it. With several routable IPv4s, the first (the kernel's primary
// address) wins.
import { readdirSync } from 'node:fs';
import { networkInterfaces, type NetworkInterfaceInfo } from 'node:os';
import { Deadline, pause } from './deadline.ts';
import { AddressError } from './errors.ts';

const POLL_INTERVAL_MS = 200;

export type InterfaceTable = NodeJS.Dict<NetworkInterfaceInfo[]>;

/** Where interfaces are read from; the real OS unless a unit test says otherwise. */
export interface InterfaceReader {
  /** Interfaces with their addresses (those without any address are missing here). */
  addresses(): InterfaceTable;
  /** Names of every interface, addressed or not (best effort: [] where unknown). */
  names(): string[];
}

export const osInterfaces: InterfaceReader = {
  addresses: () => networkInterfaces(),
  names: () => {
    try {
      return readdirSync('/sys/class/net');
    } catch {
      return []; // not Linux, or no sysfs: only interfaces with addresses are known
    }
  },
};

export interface Ipv4Addresses {
  routable: string[];
  linkLocal: string[];
}

export function ipv4AddressesOf(infos: NetworkInterfaceInfo[] | undefined): Ipv4Addresses {
  const all = (infos ?? []).filter((info) => info.family === 'IPv4').map((info) => info.address);
  return {
    routable: all.filter((address) => !address.startsWith('169.254.')),
    linkLocal: all.filter((address) => address.startsWith('169.254.')),
  };
}

/** "lo (127.0.0.1), eth1 (10.0.0.3, 10.0.0.4), dummy0 (no IPv4)", in the kernel's order. */
export function describeInterfaces(table: InterfaceTable, names: string[]): string {
  const all = [...Object.keys(table), ...names.filter((name) => !(name in table))];
  if (all.length === 0) return 'none';
  return all
    .map((name) => {
      const { routable, linkLocal } = ipv4AddressesOf(table[name]);
      const ipv4 = [...routable, ...linkLocal];
      return `${name} (${ipv4.length > 0 ? ipv4.join(', ') : 'no IPv4'})`;
    })
    .join(', ');
}

function timeoutMessage(name: string, seconds: number, reader: InterfaceReader): string {
  const table = reader.addresses();
  const names = reader.names();
  const listing = `interfaces here: ${describeInterfaces(table, names)}`;
  const { linkLocal } = ipv4AddressesOf(table[name]);
  if (linkLocal.length > 0) {
    return (
      `interface "${name}" has only the link-local address ${linkLocal.join(', ')} after ` +
      `${seconds} s (not reachable off its link; set address.ip to use it anyway); ${listing}`
    );
  }
  if (name in table || names.includes(name)) {
    return `interface "${name}" has no IPv4 address after ${seconds} s; ${listing}`;
  }
  return (
    `no interface "${name}" after ${seconds} s (set address.interface to one that exists, ` +
    `or address.ip); ${listing}`
  );
}

export async function interfaceAddress(
  name: string,
  waitSeconds: number,
  ctx: { signal?: AbortSignal; onWait?: (message: string) => void },
  reader: InterfaceReader = osInterfaces,
): Promise<string> {
  const deadline = new Deadline(waitSeconds);
  for (let polls = 0; ; polls++) {
    ctx.signal?.throwIfAborted();
    const [address] = ipv4AddressesOf(reader.addresses()[name]).routable;
    if (address) return address;
    if (deadline.passed()) throw new AddressError(timeoutMessage(name, waitSeconds, reader));
    if (polls === 0) ctx.onWait?.(`waiting up to ${waitSeconds} s for an IPv4 address on ${name}`);
    await pause(Math.min(POLL_INTERVAL_MS, deadline.remainingMs()), ctx.signal);
  }
}
