// Turns config/templates/*.hbs into src/render/templates.generated.ts, precompiled, so the
// templates travel inside dist/meshvisor.mjs (images copy only the bundle), load the same way
// under tsx, and need only handlebars' runtime: its compiler (parser, code generator) is neither
// loaded nor run by meshvisor (memory and start-up: bench/README.md).
// Run after editing a template:  node --import tsx config/templates/generate.ts
// test/unit/render-templates.test.ts fails while the generated module is out of date.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import Handlebars from 'handlebars';
import { format, resolveConfig } from 'prettier';

/** JSON output, so no HTML escaping; strict, so a misspelt variable fails the render. */
const COMPILE_OPTIONS = { noEscape: true, strict: true };

const TEMPLATES_DIR = fileURLToPath(new URL('./', import.meta.url));
export const GENERATED_MODULE = fileURLToPath(
  new URL('../../src/render/templates.generated.ts', import.meta.url),
);

/** The source of the generated module, formatted as the repository formats TypeScript. */
export async function generateTemplatesModule(): Promise<string> {
  const names = (await readdir(TEMPLATES_DIR)).filter((name) => name.endsWith('.hbs')).sort();
  const entries = await Promise.all(
    names.map(async (name) => {
      const text = await readFile(`${TEMPLATES_DIR}${name}`, 'utf8');
      const spec = Handlebars.precompile(text, COMPILE_OPTIONS) as unknown as string;
      return `  ${JSON.stringify(name.replace(/\.hbs$/, ''))}: ${spec},`;
    }),
  );
  const source = [
    '// Generated from config/templates/*.hbs by config/templates/generate.ts. Do not edit.',
    '/* eslint-disable */',
    '// @ts-nocheck: handlebars precompiler output',
    'export const TEMPLATES = {',
    ...entries,
    '};',
    '',
  ].join('\n');
  const options = await resolveConfig(GENERATED_MODULE);
  return format(source, { ...options, filepath: GENERATED_MODULE });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(GENERATED_MODULE, await generateTemplatesModule());
}
