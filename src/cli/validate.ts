// `meshvisor validate [-c FILE]`: every problem as `path: message` (exit 78), or a one-line summary.
import { ExitCode } from '../exit.ts';
import type { CommandValues } from './command.ts';
import { loadSpecForCli } from './spec-source.ts';

export default async function validate(values: CommandValues): Promise<number> {
  const spec = await loadSpecForCli(values);
  const count = (n: number, what: string) => `${n} ${what}${n === 1 ? '' : 's'}`;
  const sidecars = spec.services.filter((s) => s.sidecar).length;
  process.stdout.write(
    `spec ok: ${spec.role} ${spec.nodeName} in ${spec.datacenter}; ` +
      `${count(spec.services.length, 'service')} (${count(sidecars, 'sidecar')}), ` +
      `${count(spec.gateways.length, 'gateway')}, ` +
      `${count(spec.configEntries.length, 'config entry').replace('entrys', 'entries')} from the spec\n`,
  );
  return ExitCode.ok;
}
