// The handlebars environment for the templates precompiled by config/templates/generate.ts (JSON
// output, so no HTML escaping, and every value through the `json` helper; strict, so a misspelt
// variable fails the render instead of vanishing). Only handlebars' runtime is loaded.
import type HandlebarsTypes from 'handlebars';
import HandlebarsRuntime from 'handlebars/runtime';
import { TEMPLATES } from './templates.generated.ts';

const Handlebars: typeof HandlebarsTypes = HandlebarsRuntime;
type TemplateSpec = Parameters<typeof Handlebars.template>[0];
const SPECS = TEMPLATES as unknown as Record<string, TemplateSpec>;

export type TemplateName = 'agent.json' | 'service-defaults.json' | 'ingress-gateway.json';

const PARTIALS = ['service.json', 'tls-files.json'] as const;

const handlebars = Handlebars.create();
handlebars.registerHelper('json', (value: unknown) => {
  // JSON.stringify(undefined) is undefined, which would render as nothing and leave broken JSON.
  if (value === undefined) throw new Error('json helper: the value is undefined');
  return new handlebars.SafeString(JSON.stringify(value));
});
for (const name of PARTIALS) {
  handlebars.registerPartial(name.replace(/\.json$/, ''), handlebars.template(SPECS[name]!));
}

const compiled = new Map<TemplateName, Handlebars.TemplateDelegate>();

/** Renders a template and parses its output: a template that emits broken JSON fails here. */
export function renderTemplate(name: TemplateName, view: object): unknown {
  let template = compiled.get(name);
  if (!template) {
    template = handlebars.template(SPECS[name]!);
    compiled.set(name, template);
  }
  const text = template(view);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`template ${name} rendered invalid JSON: ${(err as Error).message}\n${text}`);
  }
}
