// meshvisor as PID 1. The kernel sends PID 1 only signals it has a handler for, and reparents
// every orphaned process to it; Node (libuv) only ever waits for its own children, so orphaned
// grandchildren would stay zombies for ever. The images run tini as PID 1 for that reason.
import type { Logger } from '../log.ts';
import { countZombieChildren } from './proc.ts';

export { countZombieChildren };

/** Warns when this process is PID 1, i.e. started without an init (tini, docker --init) in front. */
export function warnIfPid1WithoutInit(logger: Logger): void {
  if (process.pid !== 1) return;
  logger.warn(
    'meshvisor is PID 1 without an init: orphaned processes will not be reaped. ' +
      'Run it under tini (ENTRYPOINT ["tini", "--", "meshvisor", "run"]), docker run --init, ' +
      'or ECS initProcessEnabled',
  );
}
