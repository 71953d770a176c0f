// `${VAR}` and `${VAR:-default}` in string values, from the environment (the ECS way to pass
// secrets and per-task values). `$$` is a literal `$`. Keys are never interpolated.
import type { SpecProblem } from './errors.ts';
import { formatPath } from './rules.ts';

const REFERENCE = /\$\$|\$\{([^}]*)\}|\$\{/g;
const VARIABLE = /^([A-Za-z_][A-Za-z0-9_]*)(?::-(.*))?$/s;

/** One `${VAR}` or `${VAR:-default}` a string value used. */
export interface VariableUse {
  name: string;
  /** False when the variable was unset (or empty, with `:-`) and the written default was used. */
  set: boolean;
}

/** The variables one string value of the document was built from, by the value's path. */
export interface InterpolationReference {
  path: PropertyKey[];
  variables: VariableUse[];
}

export function interpolate(
  value: unknown,
  env: NodeJS.ProcessEnv,
): { value: unknown; problems: SpecProblem[]; references: InterpolationReference[] } {
  const problems: SpecProblem[] = [];
  const references: InterpolationReference[] = [];
  const walk = (node: unknown, path: PropertyKey[]): unknown => {
    if (typeof node === 'string') {
      const variables: VariableUse[] = [];
      const result = interpolateString(node, env, path, problems, variables);
      if (variables.length > 0) references.push({ path, variables });
      return result;
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, [...path, i]));
    if (typeof node === 'object' && node !== null) {
      return Object.fromEntries(
        Object.entries(node).map(([key, item]) => [key, walk(item, [...path, key])]),
      );
    }
    return node;
  };
  return { value: walk(value, []), problems, references };
}

function interpolateString(
  text: string,
  env: NodeJS.ProcessEnv,
  path: PropertyKey[],
  problems: SpecProblem[],
  variables: VariableUse[],
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
    if (fallback !== undefined) {
      variables.push({ name, set: Boolean(set) });
      return set ? set : fallback;
    }
    if (set === undefined) {
      report(`environment variable ${name} is not set (use \${${name}:-default} for a default)`);
      return match;
    }
    variables.push({ name, set: true });
    return set;
  });
}
