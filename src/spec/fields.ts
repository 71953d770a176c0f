// Field-level schemas shared by the node spec: names, ports, durations, addresses.
import { resolve } from 'node:path';
import { z } from 'zod';
import { IPV4_PATTERN, parseListenAddress } from './listen.ts';

/**
 * A name Consul accepts as a service, node or gateway name and that is safe to put into the
 * rendered JSON, program names and file names: no quotes, spaces, slashes or `{{`.
 */
export const NAME_PATTERN = /^[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,126}[A-Za-z0-9])?$/;

export const safeName = z
  .string()
  .regex(
    NAME_PATTERN,
    'must be 1-128 letters, digits, "-", "_" or "." (starting and ending with a letter or digit)',
  );

export const port = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be a port between 1 and 65535')
  .max(65535, 'must be a port between 1 and 65535');

/** A Go duration as Consul parses it: `5s`, `1m30s`, `250ms`. */
export const DURATION_PATTERN = /^(?:\d+(?:\.\d+)?(?:ns|us|µs|ms|s|m|h))+$/;

export const duration = z
  .string()
  .regex(DURATION_PATTERN, 'must be a duration such as "5s", "1m" or "250ms"');

export const ipv4 = z.string().regex(IPV4_PATTERN, 'must be an IPv4 address such as 10.0.0.5');

export const listenAddress = z.string().superRefine((value, ctx) => {
  try {
    if (parseListenAddress(value).port === 0) {
      ctx.addIssue({ code: 'custom', message: 'the port must be between 1 and 65535' });
    }
  } catch (err) {
    ctx.addIssue({ code: 'custom', message: (err as Error).message });
  }
});

/** A filesystem path; a relative one is resolved against the working directory at load time. */
export const fsPath = z
  .string()
  .min(1, 'must not be empty')
  .transform((value) => resolve(value));

/** Protocols Consul 1.10 accepts in service-defaults and ingress listeners. */
export const protocol = z.enum(['tcp', 'http', 'http2', 'grpc']);
