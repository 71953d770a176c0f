// Dockerfile.agent, Dockerfile.server and images/demo-service/Dockerfile: no hadolint runs here,
// so a small parser (instructions, line continuations, comments, stages, ARG scoping) reads them
// and the invariants the images promise are asserted on the result, in a second, with no engine.
// test/docker/mesh.test.ts builds and runs them on a real engine (in .ci/run).
import { readFileSync } from 'node:fs';
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';

const ROOT = new URL('../../', import.meta.url);
const read = (path: string): string => readFileSync(new URL(path, ROOT), 'utf8');

interface Instruction {
  keyword: string;
  /** Everything after the keyword, continuations joined with a space. */
  args: string;
  /** `--name=value` options before the arguments (COPY --from, HEALTHCHECK --interval, ...). */
  flags: Record<string, string>;
  /** The arguments without the options. */
  rest: string;
  /** Exec form (`["a", "b"]`), when the arguments are a JSON array. */
  exec?: string[];
  line: number;
}

interface Stage {
  index: number;
  name?: string;
  /** FROM's image as written, and with the ARGs substituted. */
  image: string;
  resolvedImage: string;
  instructions: Instruction[];
  /** ARGs declared inside the stage (re-declared globals get the global default). */
  args: Map<string, string | undefined>;
}

interface Dockerfile {
  globalArgs: Map<string, string | undefined>;
  stages: Stage[];
  instructions: Instruction[];
}

export function parseDockerfile(text: string): Dockerfile {
  const lines = text.split(/\r?\n/);
  const instructions: Instruction[] = [];
  let escape = '\\';
  let parserDirectives = true;
  let buffer = '';
  let start = 0;
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i]!;
    const trimmed = raw.trim();
    if (parserDirectives) {
      const directive = /^#\s*(\w+)\s*=\s*(\S+)\s*$/.exec(trimmed);
      if (directive) {
        if (directive[1]!.toLowerCase() === 'escape') escape = directive[2]!;
        continue;
      }
      parserDirectives = false;
    }
    // Comments and blank lines are dropped, inside a continuation too (as Docker does).
    if (trimmed.startsWith('#') || trimmed === '') continue;
    if (buffer === '') start = i + 1;
    const continued = trimmed.endsWith(escape);
    buffer += (buffer ? ' ' : '') + (continued ? trimmed.slice(0, -escape.length).trim() : trimmed);
    if (continued) continue;
    if (buffer !== '') instructions.push(toInstruction(buffer, start));
    buffer = '';
  }
  assert.equal(buffer, '', 'the file ends inside a line continuation');

  const globalArgs = new Map<string, string | undefined>();
  const stages: Stage[] = [];
  for (const ins of instructions) {
    if (ins.keyword === 'FROM') {
      const match = /^(\S+)(?:\s+AS\s+(\S+))?$/i.exec(ins.rest);
      assert.ok(match, `line ${ins.line}: cannot read FROM ${ins.rest}`);
      stages.push({
        index: stages.length,
        name: match[2]?.toLowerCase(),
        image: match[1]!,
        resolvedImage: substitute(match[1]!, globalArgs),
        instructions: [],
        args: new Map(),
      });
      continue;
    }
    const stage = stages.at(-1);
    if (ins.keyword === 'ARG') {
      for (const [name, value] of parseArg(ins.rest)) {
        if (!stage) globalArgs.set(name, value);
        else stage.args.set(name, value ?? globalArgs.get(name));
      }
    }
    if (stage) stage.instructions.push(ins);
    else assert.equal(ins.keyword, 'ARG', `line ${ins.line}: only ARG may precede the first FROM`);
  }
  return { globalArgs, stages, instructions };
}

function toInstruction(text: string, line: number): Instruction {
  const match = /^(\S+)\s*(.*)$/.exec(text)!;
  const args = match[2]!;
  const flags: Record<string, string> = {};
  let rest = args;
  for (;;) {
    const flag = /^--([\w-]+)(?:=(\S*))?\s*/.exec(rest);
    if (!flag) break;
    flags[flag[1]!] = flag[2] ?? 'true';
    rest = rest.slice(flag[0].length);
  }
  const ins: Instruction = { keyword: match[1]!.toUpperCase(), args, flags, rest, line };
  const json = rest.startsWith('[') ? rest : /^CMD\s+(\[.*\])$/.exec(rest)?.[1];
  if (json !== undefined) {
    try {
      const value: unknown = JSON.parse(json);
      if (Array.isArray(value) && value.every((v) => typeof v === 'string')) ins.exec = value;
    } catch {
      // shell form that happens to start with "["
    }
  }
  return ins;
}

function parseArg(rest: string): [string, string | undefined][] {
  return rest.split(/\s+/).map((item) => {
    const eq = item.indexOf('=');
    if (eq === -1) return [item, undefined];
    return [item.slice(0, eq), item.slice(eq + 1).replace(/^"(.*)"$/, '$1')];
  });
}

/** `$VAR`, `${VAR}`, `${VAR:-default}`; an undeclared or default-less variable stays visible. */
function substitute(text: string, vars: Map<string, string | undefined>): string {
  return text.replace(
    /\$\{(\w+)(?::-([^}]*))?\}|\$(\w+)/g,
    (whole, braced: string | undefined, fallback: string | undefined, bare: string | undefined) => {
      const value = vars.get((braced ?? bare)!);
      return value ?? fallback ?? `<unset ${whole}>`;
    },
  );
}

/** Variables a stage's instructions use (`${X}` / `$X`), outside shell-quoted single quotes. */
function usedVariables(ins: Instruction): string[] {
  return [...ins.args.matchAll(/\$\{(\w+)[^}]*\}|\$([A-Za-z_]\w*)/g)].map((m) => (m[1] ?? m[2])!);
}

const finalStage = (df: Dockerfile): Stage => df.stages.at(-1)!;
const byKeyword = (stage: Stage, keyword: string): Instruction[] =>
  stage.instructions.filter((i) => i.keyword === keyword);
const stageNamed = (df: Dockerfile, name: string): Stage | undefined =>
  df.stages.find((s) => s.name === name);

const SEMVER = /^\d+\.\d+\.\d+$/;

describe('the Dockerfile parser', () => {
  it('joins continuations, drops comments inside them, reads stages, flags and ARG scope', () => {
    const df = parseDockerfile(
      [
        '# syntax=docker/dockerfile:1',
        'ARG BASE_VERSION=1.2.3',
        'FROM base:${BASE_VERSION} AS one',
        'ARG BASE_VERSION',
        'RUN echo a \\',
        '  # a comment inside the continuation',
        '  && echo b',
        'FROM other:v${BASE_VERSION}',
        'COPY --from=one --chmod=0755 /x /y',
        'HEALTHCHECK --interval=5s CMD ["probe", "--ready"]',
        'CMD []',
      ].join('\n'),
    );
    assert.deepEqual([...df.globalArgs], [['BASE_VERSION', '1.2.3']]);
    assert.equal(df.stages.length, 2);
    assert.equal(df.stages[0]!.name, 'one');
    assert.equal(df.stages[0]!.resolvedImage, 'base:1.2.3');
    assert.equal(df.stages[0]!.args.get('BASE_VERSION'), '1.2.3');
    assert.equal(df.stages[1]!.resolvedImage, 'other:v1.2.3');
    const run = df.stages[0]!.instructions.find((i) => i.keyword === 'RUN')!;
    assert.equal(run.args, 'echo a && echo b');
    assert.equal(run.line, 5);
    const copy = df.stages[1]!.instructions[0]!;
    assert.deepEqual(copy.flags, { from: 'one', chmod: '0755' });
    assert.equal(copy.rest, '/x /y');
    const hc = df.stages[1]!.instructions[1]!;
    assert.deepEqual(hc.flags, { interval: '5s' });
    assert.deepEqual(hc.exec, ['probe', '--ready']);
    assert.deepEqual(df.stages[1]!.instructions[2]!.exec, []);
  });

  it('rejects a file that ends inside a continuation', () => {
    assert.throws(() => parseDockerfile('FROM a:1\nRUN echo \\\n'), /continuation/);
  });
});

interface ImageCase {
  file: string;
  versionArgs: string[];
  finalBase: RegExp;
}

const IMAGES: ImageCase[] = [
  {
    file: 'Dockerfile.agent',
    versionArgs: ['CONSUL_VERSION', 'ENVOY_VERSION', 'NODE_VERSION'],
    finalBase: /^envoyproxy\/envoy:v\$\{ENVOY_VERSION\}$/,
  },
  {
    file: 'Dockerfile.server',
    versionArgs: ['CONSUL_VERSION', 'NODE_VERSION'],
    finalBase: /^node:\$\{NODE_VERSION\}-bookworm-slim$/,
  },
];

for (const image of IMAGES) {
  describe(image.file, () => {
    const df = parseDockerfile(read(image.file));
    const final = finalStage(df);

    it('pins every version through a global ARG with an exact x.y.z default', () => {
      for (const name of image.versionArgs) {
        const value = df.globalArgs.get(name);
        assert.ok(value !== undefined, `${name} has no default`);
        assert.match(value, SEMVER, `${name}=${value} is not an exact version`);
      }
    });

    it('ships a current LTS Node (22 or 24)', () => {
      const major = Number(df.globalArgs.get('NODE_VERSION')!.split('.')[0]);
      assert.ok([22, 24].includes(major), `Node ${major} is not a current LTS`);
    });

    it('takes every base image from a pinned, non-latest tag built from the ARGs', () => {
      for (const stage of df.stages) {
        assert.match(stage.image, /:[^:]*\$\{\w+\}/, `${stage.image}: tag not from an ARG`);
        assert.doesNotMatch(stage.resolvedImage, /<unset|:latest\b|^[^:]+$/, stage.resolvedImage);
      }
      assert.ok(!/\blatest\b/.test(read(image.file).replace(/#.*$/gm, '')), 'mentions latest');
    });

    it('is multi-stage: a build stage runs npm ci and npm run build', () => {
      assert.ok(df.stages.length >= 3, 'expected consul, build and final stages');
      const build = stageNamed(df, 'build');
      assert.ok(build, 'no stage named build');
      assert.match(build.resolvedImage, /^node:\d+\.\d+\.\d+-bookworm-slim$/);
      const runs = byKeyword(build, 'RUN').map((i) => i.args);
      assert.ok(
        runs.some((r) => /\bnpm ci\b/.test(r)),
        'build stage does not run npm ci',
      );
      assert.ok(
        runs.some((r) => /\bnpm run build\b/.test(r)),
        'build stage does not build',
      );
    });

    it('copies the bundle from the build stage into the final image', () => {
      const copies = byKeyword(final, 'COPY').filter((c) => c.flags.from === 'build');
      assert.ok(
        copies.some((c) => /\/dist\/meshvisor\.mjs\s/.test(c.rest)),
        'dist/meshvisor.mjs is not copied from the build stage',
      );
      const runs = byKeyword(final, 'RUN').map((i) => i.args);
      assert.ok(
        runs.some((r) => /ln -s \S*meshvisor\.mjs \/usr\/local\/bin\/meshvisor/.test(r)),
        '`meshvisor` is not on PATH',
      );
    });

    it('copies consul from the official hashicorp/consul image', () => {
      const consul = stageNamed(df, 'consul');
      assert.ok(consul, 'no stage named consul');
      assert.equal(consul.image, 'hashicorp/consul:${CONSUL_VERSION}');
      const copy = byKeyword(final, 'COPY').find((c) => c.flags.from === 'consul');
      assert.ok(copy, 'consul is not copied into the final image');
      assert.match(copy.rest, /^\/bin\/consul \/usr\/local\/bin\/consul$/);
    });

    it('runs on the expected base, with a Node runtime of the same libc (glibc)', () => {
      assert.match(final.image, image.finalBase);
      assert.doesNotMatch(final.resolvedImage, /alpine/, 'the final base must be glibc');
      for (const stage of df.stages) assert.doesNotMatch(stage.resolvedImage, /alpine|musl/);
      if (image.file === 'Dockerfile.agent') {
        const node = byKeyword(final, 'COPY').find((c) => /\/usr\/local\/bin\/node\b/.test(c.rest));
        assert.ok(node, 'no Node runtime copied into the Envoy image');
        const from = stageNamed(df, node.flags.from ?? '');
        assert.ok(from, `COPY --from=${node.flags.from}: no such stage`);
        assert.match(from.resolvedImage, /^node:\d+\.\d+\.\d+-bookworm(-slim)?$/);
      }
    });

    it('has tini as PID 1 in front of meshvisor, `run` as the command (replacing the base CMD)', () => {
      const installs = byKeyword(final, 'RUN').map((i) => i.args);
      assert.ok(
        installs.some((r) => /apt-get install\b.*\btini\b/.test(r)),
        'tini is not installed from the distribution',
      );
      const entrypoints = byKeyword(final, 'ENTRYPOINT');
      assert.equal(entrypoints.length, 1);
      assert.deepEqual(entrypoints[0]!.exec, ['tini', '--', 'meshvisor']);
      // `docker run <image> doctor` replaces the command; the base image's CMD never reaches us.
      const cmd = byKeyword(final, 'CMD').at(-1);
      assert.ok(cmd, 'the base image CMD would be appended to the entrypoint');
      assert.deepEqual(cmd.exec, ['run']);
    });

    it('has a HEALTHCHECK (exec form) running `meshvisor status --ready`', () => {
      const checks = byKeyword(final, 'HEALTHCHECK');
      assert.equal(checks.length, 1);
      const check = checks[0]!;
      assert.deepEqual(check.exec, ['meshvisor', 'status', '--ready']);
      for (const flag of ['interval', 'timeout', 'start-period', 'retries']) {
        assert.ok(check.flags[flag], `HEALTHCHECK without --${flag}`);
      }
    });

    it('runs as a non-root USER', () => {
      const users = byKeyword(final, 'USER');
      assert.ok(users.length > 0, 'no USER');
      assert.doesNotMatch(users.at(-1)!.rest, /^(root|0)(:|$)/);
    });

    it('declares in each stage every ARG it uses after FROM', () => {
      for (const stage of df.stages) {
        for (const ins of stage.instructions) {
          if (ins.keyword === 'ARG' || ins.keyword === 'RUN') continue;
          for (const name of usedVariables(ins)) {
            const declared =
              stage.args.has(name) ||
              byKeyword(stage, 'ENV').some((e) => new RegExp(`\\b${name}=`).test(e.args));
            assert.ok(declared, `${image.file}:${ins.line}: $${name} is not declared in the stage`);
          }
        }
      }
    });

    it('downloads nothing into a shell (no curl | sh, wget | sh) and no ADD of URLs', () => {
      for (const ins of df.instructions) {
        assert.doesNotMatch(
          ins.args,
          /\b(curl|wget)\b[^|]*\|\s*(ba|z|da)?sh\b/,
          `line ${ins.line}`,
        );
        if (ins.keyword === 'ADD') assert.doesNotMatch(ins.args, /https?:\/\//, `line ${ins.line}`);
      }
    });
  });
}

describe('the images together', () => {
  const agent = parseDockerfile(read('Dockerfile.agent'));
  const server = parseDockerfile(read('Dockerfile.server'));
  const demo = parseDockerfile(read('images/demo-service/Dockerfile'));

  it('agent and server pin the same Consul, and all three images the same Node', () => {
    assert.equal(agent.globalArgs.get('CONSUL_VERSION'), server.globalArgs.get('CONSUL_VERSION'));
    const node = agent.globalArgs.get('NODE_VERSION');
    assert.equal(server.globalArgs.get('NODE_VERSION'), node);
    assert.equal(demo.globalArgs.get('NODE_VERSION'), node);
  });

  it('the agent runs an Envoy image, not the discontinued envoy-alpine', () => {
    assert.match(finalStage(agent).resolvedImage, /^envoyproxy\/envoy:v\d+\.\d+\.\d+$/);
  });

  it('docs/images.md documents the pinned Consul and Envoy versions', () => {
    const doc = read('docs/images.md');
    for (const name of ['CONSUL_VERSION', 'ENVOY_VERSION', 'NODE_VERSION']) {
      const value = agent.globalArgs.get(name)!;
      assert.ok(doc.includes(value), `docs/images.md does not mention ${name}=${value}`);
    }
  });

  it('the demo service image is pinned, non-root, and health-checked', () => {
    const final = finalStage(demo);
    assert.match(final.resolvedImage, /^node:\d+\.\d+\.\d+-bookworm-slim$/);
    assert.equal(byKeyword(final, 'USER').at(-1)?.rest, 'node');
    assert.deepEqual(byKeyword(final, 'HEALTHCHECK')[0]?.exec, [
      'node',
      '/app/server.mjs',
      '--check',
    ]);
  });
});

describe('every Dockerfile', () => {
  // A `# syntax=docker/dockerfile:1` line makes BuildKit pull the Dockerfile frontend from Docker
  // Hub (an unpinned tag) before every build, and fails with no registry in reach; the engine's
  // built-in frontend (Docker 20.10 and later) builds everything these files use.
  for (const file of ['Dockerfile.agent', 'Dockerfile.server', 'images/demo-service/Dockerfile']) {
    it(`${file} has no syntax directive (the engine's own frontend builds it)`, () => {
      const directives = read(file)
        .split('\n')
        .filter((l) => /^#\s*syntax\s*=/i.test(l.trim()));
      assert.deepEqual(directives, []);
    });
  }
});

describe('.dockerignore', () => {
  const patterns = read('.dockerignore')
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'));

  it('keeps the host node_modules, dist and .git out of the build context', () => {
    for (const p of ['node_modules', 'dist', '.git']) assert.ok(patterns.includes(p), p);
  });

  it('does not exclude what the build stage copies', () => {
    for (const needed of ['package.json', 'package-lock.json', 'src', 'scripts', 'tsconfig.json']) {
      assert.ok(
        !patterns.some((p) => p === needed || p === `${needed}/` || p === '*'),
        `${needed} is excluded`,
      );
    }
  });
});
