// `${VAR}` and `${VAR:-default}` in string values, from the environment (the ECS way to pass
// secrets and per-task values). `$$` is a literal `$`. Keys are never interpolated.
import type { SpecProblem } from './errors.ts';
import { formatPath } from './rules.ts';

const REFERENCE = /\$\$|\$\{([^}]*)\}|\$\{/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
): { value: unknown; problems: SpecProblem[] } {
  const problems: SpecProblem[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') return interpolateString(node, env, path, problems);
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]),
      );
    }
    return node;
  };
  return { value: walk(value, []), problems };
}

function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: SpecProblem[],
): string {
  const report = (message: string) => problems.push({ path: formatPath(path), message });
  return text.replace(REFERENCE, (match, inner: string | undefined) => {
    if (match === '$$') return '$';
    if (inner === undefined) {
      report('"${" without a closing "}" (write $$ for a literal $)');
      return match;
    }
    const parts = VARIABLE.exec(inner);
    if (!parts) {
      report(`"\${${inner}}" is not a variable reference: use \${NAME} or \${NAME:-default}`);
      return match;
    }
    const [, name = '', fallback] = parts;
    const set = env[name];
    // As in the shell: `:-` also replaces a variable that is set but empty.
    if (fallback !== undefined) return set ? set : fallback;
    if (set === undefined) {
      report(`environment variable ${name} is not set (use \${${name}:-default} for a default)`);
      return match;
    }
    return set;
  });
}
