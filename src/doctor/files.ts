// consul.dataDir and consul.configDir writable by the user doctor runs as (the user `run` runs as,
// and so consul: it is meshvisor's child), and the rendered files where the agent reads them.
// Writability is tried, not inferred from mode bits: a probe file is created and removed at once
// (root passes every mode check but not a read-only mount).
import { randomBytes } from 'node:crypto';
import { constants } from 'node:fs';
import { access, open, readdir, rm, stat } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { AGENT_CONFIG_FILE } from '../render/index.ts';
import { renderNode } from '../render/index.ts';
import type { NodeSpec } from '../spec/index.ts';
import { plural, type CheckResult } from './check.ts';
import type { Detail } from './report.ts';

type Writable =
  { ok: true; exists: boolean; at: string } | { ok: false; reason: string; at: string };

function who(): string {
  const uid = process.getuid?.();
  return uid === undefined ? 'this user' : `uid ${uid}`;
}

async function describeOwner(path: string): Promise<string> {
  try {
    const s = await stat(path);
    return `owner uid ${s.uid}, mode ${(s.mode & 0o7777).toString(8).padStart(4, '0')}`;
  } catch {
    return 'owner unknown';
  }
}

/** Creates and removes a probe file in `dir`. */
async function probeWrite(dir: string): Promise<string | null> {
  const probe = join(dir, `.meshvisor-doctor-${process.pid}-${randomBytes(4).toString('hex')}`);
  try {
    const handle = await open(probe, 'wx', 0o600);
    await handle.close();
    await rm(probe, { force: true });
    return null;
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'ERROR';
    if (code === 'EROFS') return 'a read-only file system';
    if (code === 'EACCES' || code === 'EPERM') {
      return `not writable by ${who()} (${await describeOwner(dir)})`;
    }
    return (err as Error).message;
  }
}

/** Whether `dir` is (or can be created as) a directory this user can write. */
export async function writableDir(dir: string): Promise<Writable> {
  let current = dir;
  for (;;) {
    try {
      const s = await stat(current);
      if (!s.isDirectory()) {
        return { ok: false, at: current, reason: `${current} is not a directory` };
      }
      const problem = await probeWrite(current);
      if (problem) return { ok: false, at: current, reason: `${current}: ${problem}` };
      return { ok: true, exists: current === dir, at: current };
    } catch (err) {
      const code = (err as NodeJS.ErrnoException).code;
      if (code === 'ENOTDIR') {
        return { ok: false, at: current, reason: `a parent of ${dir} is not a directory` };
      }
      if (code !== 'ENOENT') return { ok: false, at: current, reason: (err as Error).message };
      const parent = dirname(current);
      if (parent === current) return { ok: false, at: current, reason: 'no existing parent' };
      current = parent;
    }
  }
}

function dirResult(field: string, dir: string, w: Writable, what: string): CheckResult {
  if (w.ok) {
    return {
      status: 'ok',
      found: w.exists
        ? `${dir} is writable by ${who()}`
        : `${dir} does not exist yet; ${w.at} is writable by ${who()}, so it can be created`,
    };
  }
  return {
    status: 'fail',
    found: `${field} ${dir}: ${w.reason}`,
    fix: `${what}: make it writable by ${who()} (\`chown -R ${process.getuid?.() ?? '<uid>'} ${dir}\`), run as its owner (the images run as meshvisor, uid 10001), or set ${field}`,
  };
}

export async function checkDataDir(spec: NodeSpec): Promise<CheckResult> {
  const dir = spec.consul.dataDir;
  const w = await writableDir(dir);
  const result = dirResult('consul.dataDir', dir, w, 'consul keeps its state there');
  if (!w.ok || !w.exists) return result;
  // An existing data dir (a volume from an earlier run as another user) may hold entries
  // consul can no longer write: raft/, serf/, node-id.
  const blocked: string[] = [];
  for (const name of await readdir(dir).catch(() => [] as string[])) {
    try {
      await access(join(dir, name), constants.W_OK);
    } catch {
      blocked.push(`${name} (${await describeOwner(join(dir, name))})`);
    }
  }
  if (blocked.length === 0) return result;
  return {
    status: 'fail',
    found: `${dir} is writable, but ${plural(blocked.length, 'entry', 'entries')} in it ${blocked.length === 1 ? 'is' : 'are'} not: ${blocked.slice(0, 5).join(', ')}`,
    fix: `consul writes them: \`chown -R ${process.getuid?.() ?? '<uid>'} ${dir}\`, or run as their owner`,
  };
}

export async function checkConfigDir(spec: NodeSpec, address: string | null): Promise<CheckResult> {
  const dir = spec.consul.configDir;
  const w = await writableDir(dir);
  const result = dirResult('consul.configDir', dir, w, 'meshvisor renders the agent config there');
  // Render in memory (the address only changes values, not where files go or their modes).
  const rendered = renderNode(spec, address ?? '127.0.0.1');
  const configDirArg = rendered.agentArgs[rendered.agentArgs.indexOf('-config-dir') + 1];
  const [agentFile, ...entryFiles] = rendered.files;
  const details: Detail[] = [];
  if (agentFile) {
    const secret = agentFile.mode === 0o600 ? ', it holds a token or the gossip key' : '';
    details.push({
      text: `${agentFile.path} (0${agentFile.mode.toString(8)}${secret}): read by \`consul agent -config-dir ${configDirArg}\``,
    });
  }
  if (entryFiles.length > 0) {
    details.push({
      text: `${plural(entryFiles.length, 'config entry file')} under ${join(dir, 'config-entries')}/ (for reading; consul does not read sub-folders, meshvisor writes the entries over the API)`,
    });
  }
  if (configDirArg !== dir || agentFile?.path !== join(dir, AGENT_CONFIG_FILE)) {
    return {
      status: 'fail',
      found: `the agent would read ${configDirArg}, but ${agentFile?.path} is written`,
      fix: 'this is a bug in meshvisor; please report it',
      details,
    };
  }
  if (!w.ok) return { ...result, details };
  // Consul reads every *.json and *.hcl in its config dir: others merge with meshvisor's file.
  const others = w.exists
    ? (await readdir(dir).catch(() => [] as string[])).filter(
        (name) => /\.(json|hcl)$/.test(name) && name !== AGENT_CONFIG_FILE,
      )
    : [];
  if (others.length > 0) {
    return {
      status: 'warn',
      found: `${result.found}; consul also reads ${others.join(', ')} there, merged with ${AGENT_CONFIG_FILE}`,
      fix: `remove ${others.length === 1 ? 'it' : 'them'} (a key set twice, or a second \`services\` list, changes what meshvisor rendered), or move the settings into consul.extraConfig`,
      details,
    };
  }
  return {
    ...result,
    found: `${result.found}; ${AGENT_CONFIG_FILE} goes where \`consul agent -config-dir ${dir}\` reads it`,
    details,
  };
}

/** consul.tls files: they must be readable files (consul reads them at start). */
export async function checkTlsFiles(spec: NodeSpec): Promise<CheckResult> {
  const tls = spec.consul.tls;
  const all: [string, string | undefined][] = [
    ['consul.tls.caFile', tls?.caFile],
    ['consul.tls.certFile', tls?.certFile],
    ['consul.tls.keyFile', tls?.keyFile],
  ];
  const files = all.filter((f): f is [string, string] => typeof f[1] === 'string');
  if (files.length === 0) return { status: 'ok', found: 'no TLS files set (auto_encrypt only)' };
  const details: Detail[] = [];
  let failed = 0;
  for (const [field, path] of files) {
    try {
      const s = await stat(path);
      if (!s.isFile()) throw Object.assign(new Error('not a file'), { code: 'ENOTFILE' });
      await access(path, constants.R_OK);
      details.push({ status: 'ok', text: `${field} ${path}: readable` });
    } catch (err) {
      failed++;
      const code = (err as NodeJS.ErrnoException).code;
      const why =
        code === 'ENOENT'
          ? 'does not exist'
          : code === 'ENOTFILE'
            ? 'is not a file'
            : `not readable by ${who()}`;
      details.push({ status: 'fail', text: `${field} ${path}: ${why}` });
    }
  }
  if (failed === 0)
    return { status: 'ok', found: `${plural(files.length, 'file')} readable`, details };
  return {
    status: 'fail',
    found: `${plural(failed, 'TLS file')} of ${files.length} cannot be read`,
    fix: 'consul reads them at start and exits without them: mount them, or fix the paths',
    details,
  };
}
