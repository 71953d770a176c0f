// The handlebars environment: JSON output, so no HTML escaping, and every value through the
// `json` helper; strict, so a misspelt variable fails the render instead of vanishing.
import Handlebars from 'handlebars';
import { TEMPLATES } from './templates.generated.ts';

export type TemplateName = 'agent.json' | 'service-defaults.json' | 'ingress-gateway.json';

const PARTIALS = ['service.json', 'tls-files.json'] as const;

const handlebars = Handlebars.create();
handlebars.registerHelper('json', (value: unknown) => {
  // JSON.stringify(undefined) is undefined, which would render as nothing and leave broken JSON.
  if (value === undefined) throw new Error('json helper: the value is undefined');
  return new handlebars.SafeString(JSON.stringify(value));
});
for (const name of PARTIALS) {
  handlebars.registerPartial(name.replace(/\.json$/, ''), TEMPLATES[name]);
}

const compiled = new Map<TemplateName, Handlebars.TemplateDelegate>();

/** Renders a template and parses its output: a template that emits broken JSON fails here. */
export function renderTemplate(name: TemplateName, view: object): unknown {
  let template = compiled.get(name);
  if (!template) {
    template = handlebars.compile(TEMPLATES[name], { noEscape: true, strict: true });
    compiled.set(name, template);
  }
  const text = template(view);
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`template ${name} rendered invalid JSON: ${(err as Error).message}\n${text}`);
  }
}
