// Resolving a program name the way execvp would, so a missing binary is reported before
// anything starts (exit 69) instead of as a crash loop of spawn errors.
import { accessSync, constants, statSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';

/** The absolute path of an executable file, or null. A name with a slash is taken as a path. */
export function findExecutable(
  nameOrPath: string,
  pathEnv = process.env.PATH ?? '',
): string | null {
  const candidates = nameOrPath.includes('/')
    ? [resolve(nameOrPath)]
    : pathEnv
        .split(delimiter)
        .filter(Boolean)
        .map((dir) => join(dir, nameOrPath));
  return candidates.find(isExecutableFile) ?? null;
}

function isExecutableFile(path: string): boolean {
  try {
    accessSync(path, constants.X_OK);
    return statSync(path).isFile();
  } catch {
    return false;
  }
}
