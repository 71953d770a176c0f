// The node address, looked at once (no waiting, unlike `run`): address.ip must be this
// machine's, address.interface must exist with a routable IPv4, or the ECS task metadata must
// answer with the task IPv4.
import {
  AddressError,
  describeInterfaces,
  ecsMetadataAddressOnce,
  ipv4AddressesOf,
  osInterfaces,
  type InterfaceReader,
} from '../net/index.ts';
import type { NodeSpec } from '../spec/index.ts';
import type { CheckResult } from './check.ts';
import { NETWORK_TIMEOUT_MS } from './probe.ts';

export interface AddressCheck {
  result: CheckResult;
  address: string | null;
}

/** Every IPv4 address of this machine's interfaces. */
export function localAddresses(reader: InterfaceReader = osInterfaces): Set<string> {
  const all = Object.values(reader.addresses()).flatMap((infos) => infos ?? []);
  return new Set(all.filter((i) => i.family === 'IPv4').map((i) => i.address));
}

export async function checkAddress(
  spec: NodeSpec,
  env: NodeJS.ProcessEnv,
  reader: InterfaceReader = osInterfaces,
): Promise<AddressCheck> {
  const { address } = spec;
  const listing = () =>
    `interfaces here: ${describeInterfaces(reader.addresses(), reader.names())}`;
  if (address.ip !== undefined) {
    if (localAddresses(reader).has(address.ip)) {
      return {
        address: address.ip,
        result: { status: 'ok', found: `address.ip ${address.ip}, an address of this machine` },
      };
    }
    return {
      address: null,
      result: {
        status: 'fail',
        found: `address.ip ${address.ip} is not an address of this machine (${listing()})`,
        fix: 'consul binds it: set address.ip to one of these, or use address.interface',
      },
    };
  }
  if (address.source === 'ecs-metadata') {
    try {
      const ip = await ecsMetadataAddressOnce({ env, timeoutMs: NETWORK_TIMEOUT_MS });
      return {
        address: ip,
        result: { status: 'ok', found: `task IPv4 ${ip} from the ECS task metadata` },
      };
    } catch (err) {
      if (!(err instanceof AddressError)) throw err;
      return {
        address: null,
        result: {
          status: 'fail',
          found: `ECS task metadata: ${err.message}`,
          fix:
            err.kind === 'config'
              ? 'run in an ECS task with the awsvpc network mode, or use address.interface or address.ip'
              : `run waits up to address.waitSeconds (${address.waitSeconds} s) for it; doctor asked once`,
        },
      };
    }
  }
  const name = address.interface;
  const table = reader.addresses();
  const { routable, linkLocal } = ipv4AddressesOf(table[name]);
  const [first] = routable;
  if (first) {
    const others =
      routable.length > 1 ? ` (also ${routable.slice(1).join(', ')}; the first is used)` : '';
    return { address: first, result: { status: 'ok', found: `${name} has ${first}${others}` } };
  }
  const exists = name in table || reader.names().includes(name);
  const wait = `run waits up to address.waitSeconds (${address.waitSeconds} s) for an address to appear; doctor looked once`;
  if (linkLocal.length > 0) {
    return {
      address: null,
      result: {
        status: 'fail',
        found: `${name} has only the link-local ${linkLocal.join(', ')} (not reachable off its link; ${listing()})`,
        fix: `${wait}; set address.ip to use a link-local address anyway`,
      },
    };
  }
  return {
    address: null,
    result: {
      status: 'fail',
      found: exists
        ? `${name} has no IPv4 address (${listing()})`
        : `there is no interface ${name} (${listing()})`,
      fix: exists
        ? `${wait}; or set address.interface to one that has an address, or address.ip`
        : 'set address.interface to one of these, or address.ip',
    },
  };
}
