// Turns config/templates/*.hbs into src/render/templates.generated.ts, so the templates travel
// inside dist/meshvisor.mjs (images copy only the bundle) and load the same way under tsx.
// Run after editing a template:  node --import tsx config/templates/generate.ts
// test/unit/render-templates.test.ts fails while the generated module is out of date.
import { readdir, readFile, writeFile } from 'node:fs/promises';
import { fileURLToPath } from 'node:url';
import { format, resolveConfig } from 'prettier';

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
      return `  ${JSON.stringify(name.replace(/\.hbs$/, ''))}: ${JSON.stringify(text)},`;
    }),
  );
  const source = [
    '// Generated from config/templates/*.hbs by config/templates/generate.ts. Do not edit.',
    'export const TEMPLATES = {',
    ...entries,
    '} as const;',
    '',
  ].join('\n');
  const options = await resolveConfig(GENERATED_MODULE);
  return format(source, { ...options, filepath: GENERATED_MODULE });
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  await writeFile(GENERATED_MODULE, await generateTemplatesModule());
}
