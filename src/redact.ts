// Text from outside (a check's output, an agent's error, an Envoy answer) may quote a secret: a
// token in a header an HTTP check echoed, a key in a URL. Whatever shows such text (the status
// view, the doctor's report) passes it through here first.

/** Header and query forms that carry a credential, whatever its value. */
const CREDENTIAL_PATTERNS: readonly RegExp[] = [
  /(x-consul-token\s*[:=]\s*)[^\s"',;&]+/gi,
  /(authorization\s*[:=]\s*(?:bearer\s+|basic\s+)?)[^\s"',;&]+/gi,
  /([?&](?:token|access_token|api_key|apikey|password)=)[^\s"'&#:()]+/gi,
];

/**
 * `text` with every known secret value and every credential-shaped value replaced by
 * "(secret)". Secret values are matched literally (longest first, so one that contains another
 * goes whole).
 */
export function redactText(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of [...secrets].sort((a, b) => b.length - a.length)) {
    if (secret) out = out.split(secret).join('(secret)');
  }
  for (const pattern of CREDENTIAL_PATTERNS) out = out.replace(pattern, '$1(secret)');
  return out;
}

/** Every string inside `value` (a JSON-shaped object) redacted as by redactText. */
export function redactStrings<T>(value: T, secrets: readonly string[]): T {
  const json = JSON.stringify(value, (_key, v: unknown) =>
    typeof v === 'string' ? redactText(v, secrets) : v,
  );
  return JSON.parse(json) as T;
}
