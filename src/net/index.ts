// Address discovery: the IPv4 this node binds and advertises (spec `address` block).
//   ip set                 -> that address, validated, nothing discovered
//   source: ecs-metadata   -> the awsvpc task IP from $ECS_CONTAINER_METADATA_URI_V4/task
//   otherwise              -> the IPv4 of `interface` (default eth0), polled until it appears
// Each source waits up to waitSeconds, then fails with an AddressError that says what it saw.
// An abort (ctx.signal) ends the wait at once and rejects with the signal's reason.
import { isIPv4 } from 'node:net';
import { ecsMetadataAddress } from './ecs-metadata.ts';
import { AddressError } from './errors.ts';
import { interfaceAddress } from './interface.ts';

export { AddressError } from './errors.ts';
export { requestsSent } from './http.ts';
export { acceptsTcp, tcpConnect, type ConnectResult } from './tcp.ts';
export { ecsMetadataAddressOnce } from './ecs-metadata.ts';
export {
  describeInterfaces,
  ipv4AddressesOf,
  osInterfaces,
  type InterfaceReader,
  type InterfaceTable,
} from './interface.ts';

export interface AddressOptions {
  interface: string;
  waitSeconds: number;
  ip?: string;
  source?: 'interface' | 'ecs-metadata';
}

export interface DiscoveryContext {
  /** Environment for the ecs-metadata source (default process.env). */
  env?: NodeJS.ProcessEnv;
  signal?: AbortSignal;
  /** Told once a wait begins, and again when its reason changes (for a status display). */
  onWait?: (message: string) => void;
}

export async function discoverAddress(
  opts: AddressOptions,
  ctx: DiscoveryContext = {},
): Promise<string> {
  if (opts.ip !== undefined) {
    // 0.0.0.0 binds but cannot be advertised to other nodes or registered as a gateway address.
    if (!isIPv4(opts.ip) || opts.ip === '0.0.0.0') {
      throw new AddressError(`address.ip "${opts.ip}" is not a usable IPv4 address`, 'config');
    }
    return opts.ip;
  }
  if (!Number.isFinite(opts.waitSeconds) || opts.waitSeconds < 0) {
    throw new AddressError(
      `address.waitSeconds must be a number of seconds >= 0, got ${opts.waitSeconds}`,
      'config',
    );
  }
  if (opts.source === 'ecs-metadata') return ecsMetadataAddress(opts.waitSeconds, ctx);
  return interfaceAddress(opts.interface, opts.waitSeconds, ctx);
}
