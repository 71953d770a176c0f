// `meshvisor doctor [-c FILE] [--json] [--json-schema]`: a checklist of what this node needs
// (docs/doctor.md). Exit 0 when no check failed, 1 when one did, 78 when the spec is invalid.
// Starts no program but `consul version` and `envoy --version`.
import { doctorJsonSchema, formatReport, runDoctor } from '../doctor/index.ts';
import { ExitCode } from '../exit.ts';
import type { CommandValues } from './command.ts';

export default async function doctor(values: CommandValues): Promise<number> {
  if (values['json-schema']) {
    process.stdout.write(JSON.stringify(doctorJsonSchema(), null, 2) + '\n');
    return ExitCode.ok;
  }
  const report = await runDoctor({
    file: typeof values.config === 'string' ? values.config : undefined,
  });
  process.stdout.write(values.json ? JSON.stringify(report, null, 2) + '\n' : formatReport(report));
  return report.exitCode;
}
