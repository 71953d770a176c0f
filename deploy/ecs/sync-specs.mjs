#!/usr/bin/env node
// Embeds each node spec (deploy/ecs/specs/<node>.yaml) into its task definition
// (deploy/ecs/taskdef-<node>.json) as the meshvisor container's MESHVISOR_CONFIG_JSON, the ECS
// way of passing the spec. Edit the YAML, run `node deploy/ecs/sync-specs.mjs`, commit both;
// test/unit/ecs-taskdefs.test.ts fails when they differ. `${VAR}` references stay as they are:
// meshvisor interpolates them at start from the container's environment and secrets. The output
// is Prettier-formatted, so `npm run lint` agrees with it.
import { readFileSync, writeFileSync, readdirSync } from 'node:fs';
import { format, resolveConfig } from 'prettier';
import { parse } from 'yaml';

const dir = new URL('./', import.meta.url);
for (const file of readdirSync(new URL('specs/', dir)).filter((f) => f.endsWith('.yaml'))) {
  const node = file.replace(/\.yaml$/, '');
  const taskdefUrl = new URL(`taskdef-${node}.json`, dir);
  const taskdef = JSON.parse(readFileSync(taskdefUrl, 'utf8'));
  const spec = parse(readFileSync(new URL(`specs/${file}`, dir), 'utf8'));
  const container = taskdef.containerDefinitions.find((c) => c.name === 'meshvisor');
  const env = container.environment.find((e) => e.name === 'MESHVISOR_CONFIG_JSON');
  env.value = JSON.stringify(spec);
  const options = { ...(await resolveConfig(taskdefUrl)), parser: 'json' };
  writeFileSync(taskdefUrl, await format(JSON.stringify(taskdef), options));
  console.log(`${file} -> taskdef-${node}.json`);
}
