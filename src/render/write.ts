// Writing rendered files: each one atomically (temp file in the same folder, then rename), so
// Consul never reads half a file and a restart never finds two documents in one. No fsync: every
// start renders them again from the spec before consul runs, so a file a power loss truncated is
// never read, and an fsync on the start path cost up to 80 ms on this VM's disk (bench/README.md).
import { mkdir, open, readdir, rename, rm } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export interface RenderedFile {
  /** Absolute path under consul.configDir. */
  path: string;
  /** The same path relative to consul.configDir (`meshvisor.json`, `config-entries/...`). */
  relativePath: string;
  contents: string;
  /** 0o600 when the file holds a secret, else 0o644. */
  mode: number;
}

/** meshvisor's own folder under configDir: it holds exactly the files of the last render. */
export const CONFIG_ENTRIES_DIR = 'config-entries';

/** Numbers this process's temporary files (with its pid and start time: unique on the host). */
let tempSequence = 0;
const TEMP_PREFIX = `${process.pid}-${Date.now().toString(36)}`;

export async function writeRenderedFiles(
  files: RenderedFile[],
  options: { outDir?: string } = {},
): Promise<void> {
  const target = (file: RenderedFile) =>
    options.outDir ? join(options.outDir, file.relativePath) : file.path;
  for (const file of files) await writeAtomic(target(file), file.contents, file.mode);

  const [first] = files;
  if (!first) return;
  const root = options.outDir ?? first.path.slice(0, -first.relativePath.length);
  await removeStale(join(root, CONFIG_ENTRIES_DIR), new Set(files.map(target)));
}

async function writeAtomic(path: string, contents: string, mode: number): Promise<void> {
  await mkdir(dirname(path), { recursive: true });
  // Not *.json, so Consul skips it if a crash leaves it behind in the config dir. Not from
  // node:crypto either: a run would keep it loaded for this name alone (~0.7 MiB).
  const temp = join(dirname(path), `.${basename(path)}.${TEMP_PREFIX}-${++tempSequence}.tmp`);
  try {
    const handle = await open(temp, 'wx', mode);
    try {
      await handle.writeFile(contents);
      // The umask may have narrowed the mode given to open(); the file gets exactly `mode`.
      await handle.chmod(mode);
    } finally {
      await handle.close();
    }
    await rename(temp, path);
  } catch (err) {
    await rm(temp, { force: true });
    throw err;
  }
}

/** A config entry dropped from the spec must not leave its old file behind. */
async function removeStale(dir: string, written: Set<string>): Promise<void> {
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const name of names) {
    const path = join(dir, name);
    if (name.endsWith('.json') && !written.has(path)) await rm(path, { force: true });
  }
}
