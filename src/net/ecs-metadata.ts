// The task's IPv4 from the ECS task metadata endpoint v4 (`$ECS_CONTAINER_METADATA_URI_V4/task`).
// In awsvpc mode (always on Fargate) every container of the task shares one ENI, so any
// container's `Networks[]` entry with `NetworkMode: "awsvpc"` carries the task IP in
// `IPv4Addresses[0]`. Other modes (bridge, host) list per-container or no addresses there: the
// interface source is the right one for them, and we say so.
//
// Retried until the deadline: early in a task's life the agent may refuse, answer 5xx, or answer
// before the network is attached. A missing variable or another network mode is not retried.
import { isIPv4 } from 'node:net';
import { z } from 'zod';
import { Deadline, pause } from './deadline.ts';
import { AddressError } from './errors.ts';
import { httpRequest } from './http.ts';

const METADATA_ENV = 'ECS_CONTAINER_METADATA_URI_V4';
const REQUEST_TIMEOUT_MS = 5_000;
const FIRST_RETRY_MS = 250;
const MAX_RETRY_MS = 2_000;

/** The part of the documented task response we read; everything else is ignored. */
const TaskMetadata = z.object({
  Containers: z.array(
    z.object({
      Networks: z
        .array(
          z.object({
            NetworkMode: z.string().optional(),
            IPv4Addresses: z.array(z.string()).optional(),
          }),
        )
        .optional(),
    }),
  ),
});

type TaskMetadata = z.infer<typeof TaskMetadata>;

/** A problem worth retrying; the last one is reported when the deadline passes. */
class NotYet extends Error {}

/** The task IPv4 in a parsed response, or why there is none. */
function taskAddress(metadata: TaskMetadata): string {
  const networks = metadata.Containers.flatMap((container) => container.Networks ?? []);
  const awsvpc = networks.filter((network) => network.NetworkMode === 'awsvpc');
  if (networks.length > 0 && awsvpc.length === 0) {
    const modes = [...new Set(networks.map((network) => network.NetworkMode ?? 'unknown'))];
    throw new AddressError(
      `address.source ecs-metadata needs the awsvpc network mode, but the task uses ` +
        `${modes.join(', ')}; use address.source: interface (or address.ip)`,
      'config',
    );
  }
  for (const network of awsvpc) {
    const address = network.IPv4Addresses?.[0];
    if (address !== undefined && isIPv4(address)) return address;
  }
  throw new NotYet('the response has no Containers[].Networks[] (awsvpc) with an IPv4Addresses[0]');
}

function metadataUrl(env: NodeJS.ProcessEnv): string {
  const base = env[METADATA_ENV];
  if (!base) {
    throw new AddressError(
      `address.source ecs-metadata needs $${METADATA_ENV}, which is not set (ECS sets it in ` +
        `tasks on Fargate and on EC2 with container agent 1.39.0 or later)`,
      'config',
    );
  }
  let url: URL;
  try {
    url = new URL(`${base.replace(/\/+$/, '')}/task`);
  } catch {
    throw new AddressError(`$${METADATA_ENV} is not a URL: "${base}"`, 'config');
  }
  // The agent serves it on plain http (169.254.170.2 on Fargate); so does our client.
  if (url.protocol !== 'http:') {
    throw new AddressError(`$${METADATA_ENV} is not an http:// URL: "${base}"`, 'config');
  }
  return url.href;
}

async function fetchTaskAddress(url: string, timeoutMs: number, signal?: AbortSignal) {
  let body: string;
  try {
    const response = await httpRequest(url, { timeoutMs: Math.max(1, timeoutMs), signal });
    body = response.body;
    if (response.status < 200 || response.status > 299) {
      throw new NotYet(`HTTP ${response.status}: ${body.trim().slice(0, 200)}`);
    }
  } catch (error) {
    signal?.throwIfAborted();
    if (error instanceof NotYet) throw error;
    throw new NotYet((error as Error).message);
  }
  let json: unknown;
  try {
    json = JSON.parse(body);
  } catch {
    throw new NotYet(`the response is not JSON: ${body.trim().slice(0, 200)}`);
  }
  const parsed = TaskMetadata.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new NotYet(
      `unexpected response shape at ${issue?.path.join('.') || '(root)'}: ${issue?.message}`,
    );
  }
  return taskAddress(parsed.data);
}

export async function ecsMetadataAddress(
  waitSeconds: number,
  ctx: { env?: NodeJS.ProcessEnv; signal?: AbortSignal; onWait?: (message: string) => void },
): Promise<string> {
  const url = metadataUrl(ctx.env ?? process.env);
  const deadline = new Deadline(waitSeconds);
  let retryMs = FIRST_RETRY_MS;
  let lastProblem = '';
  for (;;) {
    ctx.signal?.throwIfAborted();
    try {
      // At least one real attempt, even with waitSeconds 0.
      const timeoutMs = Math.min(REQUEST_TIMEOUT_MS, Math.max(deadline.remainingMs(), 1_000));
      return await fetchTaskAddress(url, Math.round(timeoutMs), ctx.signal);
    } catch (error) {
      if (!(error instanceof NotYet)) throw error;
      if (deadline.passed()) {
        throw new AddressError(
          `no task IPv4 from ${url} within ${waitSeconds} s; last problem: ${error.message}`,
        );
      }
      if (error.message !== lastProblem) {
        ctx.onWait?.(`task metadata not ready (${error.message}); retrying up to ${waitSeconds} s`);
        lastProblem = error.message;
      }
    }
    await pause(Math.min(retryMs, deadline.remainingMs()), ctx.signal);
    retryMs = Math.min(retryMs * 2, MAX_RETRY_MS);
  }
}

/**
 * One request, no retries (for `meshvisor doctor`, which must not wait): the task IPv4, or an
 * AddressError saying why there is none ('config' when retrying cannot help).
 */
export async function ecsMetadataAddressOnce(
  ctx: { env?: NodeJS.ProcessEnv; timeoutMs?: number; signal?: AbortSignal } = {},
): Promise<string> {
  const url = metadataUrl(ctx.env ?? process.env);
  try {
    return await fetchTaskAddress(url, ctx.timeoutMs ?? REQUEST_TIMEOUT_MS, ctx.signal);
  } catch (error) {
    if (error instanceof NotYet) throw new AddressError(`${url}: ${error.message}`);
    throw error;
  }
}
