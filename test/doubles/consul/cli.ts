// The consul CLI commands meshvisor and the tests use, with the 1.10.12 texts and exit codes
// (recordings 02, 04, 07, 08, 09): version, members, leave, reload, validate, config
// write/read/list/delete, services register/deregister, intention check.
import { readFileSync } from 'node:fs';
import type { AgentMember } from './api-client.ts';
import { ApiError, ConsulApi, httpAddr } from './api-client.ts';
import type { Json, JsonObject } from './config.ts';
import {
  ConfigError,
  buildRuntime,
  fsError,
  loadSources,
  validateKeys,
  SERVICE_SPEC,
} from './config.ts';
import { EntryDecodeError, decodeConfigEntry } from './config-entries.ts';
import { GoJsonError, parseGoJson, goStringify } from './gojson.ts';
import { HclError, parseHcl } from './hcl.ts';
import { VERSION } from './version.ts';

const out = (s: string): void => void process.stdout.write(`${s}\n`);
const err = (s: string): void => void process.stderr.write(`${s}\n`);

interface Parsed {
  flags: Map<string, string[]>;
  args: string[];
}

/** Go flag parsing: flags first (-x=v, -x v, bools), then positional arguments. */
function parseFlags(argv: string[], bools: string[] = []): Parsed {
  const flags = new Map<string, string[]>();
  let i = 0;
  for (; i < argv.length; i++) {
    const a = argv[i] as string;
    if (a === '--') {
      i++;
      break;
    }
    if (!a.startsWith('-') || a === '-') break;
    const body = a.replace(/^--?/, '');
    const eq = body.indexOf('=');
    const name = eq >= 0 ? body.slice(0, eq) : body;
    let v: string;
    if (eq >= 0) v = body.slice(eq + 1);
    else if (bools.includes(name)) v = 'true';
    else v = argv[++i] ?? '';
    flags.set(name, [...(flags.get(name) ?? []), v]);
  }
  return { flags, args: argv.slice(i) };
}

const one = (p: Parsed, name: string): string | undefined => p.flags.get(name)?.at(-1);

function api(p: Parsed): ConsulApi {
  return new ConsulApi(
    httpAddr(one(p, 'http-addr')),
    one(p, 'token') ?? process.env.CONSUL_HTTP_TOKEN ?? '',
  );
}

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

// --- members -----------------------------------------------------------------------------------

const STATUS = ['none', 'alive', 'leaving', 'left', 'failed'];

function columnize(rows: string[][]): string {
  const widths = rows[0]?.map((_, c) => Math.max(...rows.map((r) => (r[c] ?? '').length))) ?? [];
  return rows
    .map((r) =>
      r
        .map((cell, c) => (c === r.length - 1 ? cell : cell.padEnd((widths[c] ?? 0) + 2)))
        .join('')
        .trimEnd(),
    )
    .join('\n');
}

async function members(argv: string[]): Promise<number> {
  const p = parseFlags(argv, ['detailed', 'wan']);
  let list: AgentMember[];
  try {
    list = await api(p).get<AgentMember[]>(
      `/v1/agent/members?${p.flags.has('wan') ? 'wan=1' : 'segment=_all'}`,
    );
  } catch (e) {
    err(`Error retrieving members: ${message(e)}`);
    return 1;
  }
  const seg = (m: AgentMember): string =>
    m.Tags.role === 'consul' ? '<all>' : m.Tags.segment || '<default>';
  const statusRe = one(p, 'status') ? new RegExp(one(p, 'status') as string) : undefined;
  const rows = list
    .filter((m) => !statusRe || statusRe.test(STATUS[m.Status] ?? ''))
    .sort((a, b) => (seg(a) + a.Name < seg(b) + b.Name ? -1 : 1))
    .map((m) => [
      m.Name,
      `${m.Addr}:${m.Port}`,
      STATUS[m.Status] ?? 'unknown',
      m.Tags.role === 'consul' ? 'server' : 'client',
      (m.Tags.build ?? '').split(':')[0] ?? '',
      m.Tags.vsn ?? '',
      m.Tags.dc ?? '',
      seg(m),
    ]);
  if (rows.length === 0) return 2;
  out(
    columnize([
      ['Node', 'Address', 'Status', 'Type', 'Build', 'Protocol', 'DC', 'Segment'],
      ...rows,
    ]),
  );
  return 0;
}

// --- leave / reload ----------------------------------------------------------------------------

async function simplePut(argv: string[], path: string, ok: string, fail: string): Promise<number> {
  const p = parseFlags(argv);
  try {
    await api(p).put(path);
  } catch (e) {
    err(`${fail}: ${message(e)}`);
    return 1;
  }
  out(ok);
  return 0;
}

// --- validate ----------------------------------------------------------------------------------

function validate(argv: string[]): number {
  const p = parseFlags(argv, ['quiet']);
  try {
    const sources = p.args.map((path) => ({ kind: 'file' as const, path }));
    const loaded = loadSources(sources, {}, one(p, 'config-format'));
    // 1.10 prints the builder's warnings on stderr, then the verdict (recording 11, 00).
    for (const w of buildRuntime(loaded.raw, false, loaded.warnings).warnings) err(w);
  } catch (e) {
    if (e instanceof ConfigError) {
      err(`Config validation failed: ${e.message}`);
      return 1;
    }
    throw e;
  }
  if (!p.flags.has('quiet')) out('Configuration is valid!');
  return 0;
}

// --- config ------------------------------------------------------------------------------------

function readInput(arg: string): string {
  if (arg === '-') return readFileSync(0, 'utf8');
  try {
    return readFileSync(arg, 'utf8');
  } catch (e) {
    throw new Error(`Failed to load data: Failed to read file: ${fsError(e, 'open', arg)}`);
  }
}

async function config(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const p = parseFlags(rest, ['cas']);
  const a = api(p);
  const kind = one(p, 'kind') ?? '';
  const name = one(p, 'name') ?? '';
  switch (sub) {
    case 'write': {
      const file = p.args[0];
      if (!file) {
        err('Must provide exactly one positional argument to specify the config entry to write');
        return 1;
      }
      let data: string;
      try {
        data = readInput(file);
      } catch (e) {
        err(message(e));
        return 1;
      }
      let entry;
      try {
        let raw: unknown;
        try {
          raw = parseGoJson(data);
        } catch (jsonErr) {
          if (!(jsonErr instanceof GoJsonError)) throw jsonErr;
          try {
            raw = parseHcl(data);
          } catch (hclErr) {
            if (hclErr instanceof HclError)
              throw new EntryDecodeError(`Failed to decode config entry input: ${hclErr.message}`);
            throw hclErr;
          }
        }
        entry = decodeConfigEntry(raw);
      } catch (e) {
        if (e instanceof EntryDecodeError) {
          err(`Failed to decode config entry input: ${e.message}`);
          return 1;
        }
        throw e;
      }
      const cas = p.flags.has('cas') ? `?cas=${one(p, 'modify-index') ?? '0'}` : '';
      let ok: boolean;
      try {
        ok = (await a.put<boolean>(`/v1/config${cas}`, entry)) === true;
      } catch (e) {
        err(`Error writing config entry ${entry.Kind}/${entry.Name}: ${message(e)}`);
        return 1;
      }
      if (!ok) {
        err(`Config entry not updated: ${entry.Kind}/${entry.Name}`);
        return 1;
      }
      out(`Config entry written: ${entry.Kind}/${entry.Name}`);
      return 0;
    }
    case 'read': {
      if (!kind) return usage('Must specify the -kind parameter');
      if (!name) return usage('Must specify the -name parameter');
      try {
        const e = await a.get<Json>(
          `/v1/config/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`,
        );
        out(goStringify(e, true).trimEnd());
        return 0;
      } catch (e) {
        err(`Error reading config entry ${kind}/${name}: ${message(e)}`);
        return 1;
      }
    }
    case 'list': {
      if (!kind) return usage('Must specify the -kind parameter');
      try {
        const list = (await a.get<JsonObject[]>(`/v1/config/${encodeURIComponent(kind)}`)) ?? [];
        for (const e of list) out(String(e.Name));
        return 0;
      } catch (e) {
        err(`Error listing config entries for kind "${kind}": ${message(e)}`);
        return 1;
      }
    }
    case 'delete': {
      if (!kind) return usage('Must specify the -kind parameter');
      if (!name) return usage('Must specify the -name parameter');
      try {
        await a.delete(`/v1/config/${encodeURIComponent(kind)}/${encodeURIComponent(name)}`);
      } catch (e) {
        err(`Error deleting config entry ${kind}/${name}: ${message(e)}`);
        return 1;
      }
      out(`Config entry deleted: ${kind}/${name}`);
      return 0;
    }
    default:
      return usage(`Usage: consul config <subcommand> [options] [args]`);
  }
}

function usage(msg: string): number {
  err(msg);
  return 1;
}

// --- services ----------------------------------------------------------------------------------

/** Service definitions from a file, as `consul services` reads them (the agent config format). */
function serviceFile(path: string): JsonObject[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`Error: config: Open failed on ${path}. ${fsError(e, 'open', path)}`);
  }
  let raw: unknown;
  try {
    raw = parseGoJson(text);
  } catch (e) {
    throw new Error(`Error: failed to parse ${path}: ${message(e)}`);
  }
  const o = (raw ?? {}) as JsonObject;
  const list = [
    ...((o.services as Json[]) ?? []),
    ...(o.service ? [o.service] : []),
  ] as JsonObject[];
  for (const s of list) validateKeys(path, s, SERVICE_SPEC);
  return list;
}

async function services(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  const p = parseFlags(rest);
  const a = api(p);
  if (sub === 'register') {
    let defs: JsonObject[];
    if (p.args.length === 0) {
      const name = one(p, 'name');
      if (!name) return usage('Service registration requires at least one argument or flags.');
      const meta: JsonObject = {};
      for (const kv of p.flags.get('meta') ?? []) {
        const [k, v = ''] = kv.split('=');
        meta[k as string] = v;
      }
      defs = [
        {
          Name: name,
          ...(one(p, 'id') ? { ID: one(p, 'id') as string } : {}),
          ...(one(p, 'address') ? { Address: one(p, 'address') as string } : {}),
          Port: Number(one(p, 'port') ?? 0),
          Tags: p.flags.get('tag') ?? [],
          Meta: meta,
        },
      ];
    } else {
      try {
        defs = p.args.flatMap(serviceFile);
      } catch (e) {
        err(message(e));
        return 1;
      }
    }
    for (const d of defs) {
      const name = String(d.Name ?? d.name ?? '');
      try {
        await a.put('/v1/agent/service/register', d);
      } catch (e) {
        err(`Error registering service "${name}": ${message(e)}`);
        return 1;
      }
      out(`Registered service: ${name}`);
    }
    return 0;
  }
  if (sub === 'deregister') {
    let ids: string[];
    if (one(p, 'id')) ids = [one(p, 'id') as string];
    else if (p.args.length === 0)
      return usage('Service deregistration requires at least one argument or -id.');
    else {
      try {
        ids = p.args
          .flatMap(serviceFile)
          .map((d) => String(d.id ?? d.ID ?? d.name ?? d.Name ?? ''));
      } catch (e) {
        err(message(e));
        return 1;
      }
    }
    for (const id of ids) {
      try {
        await a.put(`/v1/agent/service/deregister/${encodeURIComponent(id)}`);
      } catch (e) {
        err(`Error deregistering service "${id}": ${message(e)}`);
        return 1;
      }
      out(`Deregistered service: ${id}`);
    }
    return 0;
  }
  return usage('Usage: consul services <subcommand> [options] [args]');
}

// --- intention check ---------------------------------------------------------------------------

async function intention(argv: string[]): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub !== 'check')
    return usage('The consul test double supports only `consul intention check`.');
  const p = parseFlags(rest);
  const [src, dst] = p.args;
  if (!src || !dst) return usage('Error: command requires exactly two arguments: src and dst');
  try {
    const r = await api(p).get<{ Allowed: boolean }>(
      `/v1/connect/intentions/check?source=${encodeURIComponent(src)}&destination=${encodeURIComponent(dst)}`,
    );
    out(r.Allowed ? 'Allowed' : 'Denied');
    return r.Allowed ? 0 : 2;
  } catch (e) {
    err(`Error checking the connection: ${message(e)}`);
    return 1;
  }
}

export async function runCli(command: string | undefined, args: string[]): Promise<number> {
  try {
    switch (command) {
      case 'version':
      case '-version':
      case '--version':
        out(
          `Consul v${VERSION}\nRevision 9e7a6b8d\nProtocol 2 spoken by default, understands 2 to 3 (agent will automatically use protocol >2 when speaking to compatible agents)`,
        );
        return 0;
      case 'members':
        return await members(args);
      case 'leave':
        return await simplePut(args, '/v1/agent/leave', 'Graceful leave complete', 'Error leaving');
      case 'reload':
        return await simplePut(
          args,
          '/v1/agent/reload',
          'Configuration reload triggered',
          'Error reloading',
        );
      case 'validate':
        return validate(args);
      case 'config':
        return await config(args);
      case 'services':
        return await services(args);
      case 'intention':
        return await intention(args);
      default:
        err(`consul: '${command ?? ''}' is not supported by the consul test double`);
        return 1;
    }
  } catch (e) {
    if (e instanceof ApiError || e instanceof ConfigError) {
      err(e.message);
      return 1;
    }
    throw e;
  }
}
