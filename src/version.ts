import { readFileSync } from 'node:fs';

// The bundle gets the version inlined by esbuild (scripts/build.mjs); from source it is read
// from package.json.
declare const MESHVISOR_BUILD_VERSION: string | undefined;

function sourceVersion(): string {
  const pkg: unknown = JSON.parse(
    readFileSync(new URL('../package.json', import.meta.url), 'utf8'),
  );
  return typeof pkg === 'object' &&
    pkg !== null &&
    'version' in pkg &&
    typeof pkg.version === 'string'
    ? pkg.version
    : '0.0.0-dev';
}

export const VERSION: string =
  typeof MESHVISOR_BUILD_VERSION === 'string' ? MESHVISOR_BUILD_VERSION : sourceVersion();
