// The ACL API of a test datacenter's server, used as an operator would with the management
// token: policies from config/acl/*.hcl (placeholders filled in) and tokens with chosen secrets.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { TestHost } from './netns.ts';

const POLICIES = fileURLToPath(new URL('../../config/acl/', import.meta.url));

/** A policy file of config/acl with its placeholders filled in. */
export function policyRules(file: string, values: Record<string, string> = {}): string {
  let rules = readFileSync(`${POLICIES}${file}`, 'utf8');
  for (const [placeholder, value] of Object.entries(values)) {
    rules = rules.replaceAll(placeholder, value);
  }
  return rules;
}

/** The ACL API of a server, called with the management token. */
export function aclApi(server: TestHost, management: string) {
  const put = async (path: string, body: unknown) => {
    const res = await fetch(`http://${server.ip}:8500${path}`, {
      method: 'PUT',
      headers: { 'X-Consul-Token': management },
      body: JSON.stringify(body),
    });
    assert.equal(res.status, 200, `PUT ${path}: ${await res.clone().text()}`);
  };
  const api = {
    policy: (name: string, rules: string) => put('/v1/acl/policy', { Name: name, Rules: rules }),
    /** A token with a chosen secret (Consul 1.10 takes one): a random one unless given. */
    async token(
      grants: { policies?: string[]; service?: string; description?: string },
      secret: string = randomUUID(),
    ) {
      await put('/v1/acl/token', {
        SecretID: secret,
        Description: grants.description ?? '',
        Policies: (grants.policies ?? []).map((name) => ({ Name: name })),
        // A service identity: the service and its sidecar write, everything else read.
        ServiceIdentities: grants.service ? [{ ServiceName: grants.service }] : [],
      });
      return secret;
    },
    /** A new policy made of a config/acl file, and a token holding it. */
    async tokenFor(name: string, file: string, values: Record<string, string>, secret?: string) {
      await api.policy(name, policyRules(file, values));
      return api.token({ policies: [name], description: name }, secret);
    },
  };
  return api;
}
