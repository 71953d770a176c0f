// What `meshvisor doctor` reports: the checks (✓ ok, ! warn, ✗ fail), the spec's values and where
// each came from, as text for a person or as JSON (`--json`) whose shape is this zod schema;
// `meshvisor doctor --json-schema` prints it as a JSON Schema (docs/doctor.md).
import { z } from 'zod';

export const REPORT_FORMAT = 'meshvisor-doctor/v1';

export const CHECK_STATUSES = ['ok', 'warn', 'fail'] as const;
export type CheckStatus = (typeof CHECK_STATUSES)[number];

/** How each status is shown at a terminal. */
export const MARK: Record<CheckStatus, string> = { ok: '✓', warn: '!', fail: '✗' };

export const CHECK_GROUPS = [
  'spec',
  'binaries',
  'address',
  'ports',
  'files',
  'join',
  'consul',
  'acl',
  'clock',
] as const;
export type CheckGroup = (typeof CHECK_GROUPS)[number];

const status = z.enum(CHECK_STATUSES);

export const DetailSchema = z
  .strictObject({
    status: status.optional().describe('Set when the detail is a finding of its own.'),
    text: z.string(),
  })
  .describe('One line under a check: a port, a right, a value.');

export const CheckSchema = z.strictObject({
  id: z
    .string()
    .describe(
      'Stable identifier: spec, spec.values, binary.consul, binary.envoy, binary.pair, address, ports.*, files.*, join.<n>, consul.api, acl, acl.<token>, clock.',
    ),
  group: z.enum(CHECK_GROUPS),
  title: z.string(),
  status,
  found: z.string().describe('What was found.'),
  fix: z.string().optional().describe('What to do about it (absent when status is ok).'),
  details: z.array(DetailSchema).optional(),
  durationMs: z.number().int().min(0),
});
export type Check = z.infer<typeof CheckSchema>;
export type Detail = z.infer<typeof DetailSchema>;

export const VALUE_ORIGINS = ['spec', 'env', 'default'] as const;
export type ValueOrigin = (typeof VALUE_ORIGINS)[number];

export const ValueSchema = z
  .strictObject({
    path: z.string().describe('The leaf, e.g. consul.ports.http or services[0].token.'),
    origin: z
      .enum(VALUE_ORIGINS)
      .describe(
        'spec: written in the spec (file or $MESHVISOR_CONFIG_JSON); env: from an environment variable; default: the schema default.',
      ),
    secret: z.boolean(),
    value: z.unknown().optional().describe('The value; absent for a secret.'),
    variables: z
      .array(z.strictObject({ name: z.string(), set: z.boolean() }))
      .optional()
      .describe(
        'The ${VAR} references the value was built from; set false: unset, the written :- default was used.',
      ),
    note: z.string().optional(),
  })
  .describe('One value of the spec after interpolation and defaults.');
export type SpecValue = z.infer<typeof ValueSchema>;

export const DoctorReportSchema = z
  .strictObject({
    format: z.literal(REPORT_FORMAT),
    meshvisor: z.string().describe('The meshvisor version.'),
    exitCode: z
      .union([z.literal(0), z.literal(1), z.literal(78)])
      .describe('0 no check failed; 1 a check failed; 78 the spec is invalid.'),
    summary: z.strictObject({
      ok: z.number().int().min(0),
      warn: z.number().int().min(0),
      fail: z.number().int().min(0),
    }),
    node: z
      .strictObject({
        name: z.string(),
        role: z.enum(['server', 'client']),
        datacenter: z.string(),
        address: z.string().nullable().describe('The node address found, or null.'),
      })
      .nullable()
      .describe('Null when the spec is invalid.'),
    spec: z.strictObject({
      source: z
        .strictObject({ kind: z.enum(['file', 'inline']), name: z.string() })
        .nullable()
        .describe('The file, or $MESHVISOR_CONFIG_JSON; null when none is given.'),
      valid: z.boolean(),
      problems: z.array(z.strictObject({ path: z.string(), message: z.string() })),
      values: z.array(ValueSchema),
    }),
    checks: z.array(CheckSchema),
  })
  .meta({
    title: 'meshvisor doctor report',
    description: 'The output of `meshvisor doctor --json` (docs/doctor.md).',
  });
export type DoctorReport = z.infer<typeof DoctorReportSchema>;

let jsonSchema: Record<string, unknown> | undefined;

/** The JSON Schema of `meshvisor doctor --json`. */
export function doctorJsonSchema(): Record<string, unknown> {
  jsonSchema ??= z.toJSONSchema(DoctorReportSchema, { io: 'output' }) as Record<string, unknown>;
  return jsonSchema;
}

const GROUP_TITLES: Record<CheckGroup, string> = {
  spec: 'Spec',
  binaries: 'Binaries',
  address: 'Node address',
  ports: 'Ports',
  files: 'Directories and files',
  join: 'Join addresses',
  consul: 'Consul API',
  acl: 'ACL tokens',
  clock: 'Clock',
};

/** The report as a checklist for a terminal. */
export function formatReport(report: DoctorReport): string {
  const lines: string[] = [];
  const { node, spec } = report;
  const source = spec.source ? spec.source.name : 'no spec given';
  lines.push(
    node
      ? `meshvisor doctor ${report.meshvisor}: ${node.role} ${node.name} in ${node.datacenter} (spec: ${source})`
      : `meshvisor doctor ${report.meshvisor} (spec: ${source})`,
  );
  for (const group of CHECK_GROUPS) {
    const checks = report.checks.filter((c) => c.group === group);
    if (checks.length === 0) continue;
    lines.push('', GROUP_TITLES[group]);
    for (const check of checks) {
      lines.push(`  ${MARK[check.status]} ${check.title}: ${check.found}`);
      for (const detail of check.details ?? []) {
        const mark = detail.status ? `${MARK[detail.status]} ` : '  ';
        lines.push(`      ${mark}${detail.text}`);
      }
      if (check.fix) lines.push(`      fix: ${check.fix}`);
    }
  }
  if (!spec.valid) {
    lines.push(
      '',
      '  The other checks need a valid spec: fix it, then run `meshvisor doctor` again.',
    );
  }
  const { ok, warn, fail } = report.summary;
  lines.push(
    '',
    `${fail} ${MARK.fail}  ${warn} ${MARK.warn}  ${ok} ${MARK.ok}  -> exit ${report.exitCode}`,
  );
  return lines.join('\n') + '\n';
}
