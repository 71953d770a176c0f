// A minimal XML-RPC client for supervisord's unix socket (`[unix_http_server] file=`), so the
// bench can read program states and pids without starting `supervisorctl` (a Python process per
// call) on every poll. Only what supervisord answers is parsed: string, int/i4, boolean, double,
// nil, array and struct values, and faults. Not a general XML parser.
import { request } from 'node:http';

export type XmlRpcValue =
  string | number | boolean | null | XmlRpcValue[] | { [key: string]: XmlRpcValue };

export class XmlRpcFault extends Error {}

const ENTITIES: Record<string, string> = { lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" };

function unescapeXml(text: string): string {
  return text.replace(/&(lt|gt|amp|quot|apos|#\d+);/g, (_, name: string) =>
    name.startsWith('#') ? String.fromCharCode(Number(name.slice(1))) : (ENTITIES[name] ?? ''),
  );
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** A recursive-descent reader over the tags of one methodResponse. */
class Reader {
  private pos = 0;
  constructor(private readonly xml: string) {}

  /** Skips to the next tag and returns its name (`/name` for a closing tag, `name/` if empty). */
  private nextTag(): string {
    const start = this.xml.indexOf('<', this.pos);
    const end = this.xml.indexOf('>', start);
    if (start < 0 || end < 0) throw new Error('XML-RPC: truncated response');
    this.pos = end + 1;
    return this.xml.slice(start + 1, end).trim();
  }

  private textUntil(closing: string): string {
    const end = this.xml.indexOf(`</${closing}>`, this.pos);
    if (end < 0) throw new Error(`XML-RPC: no </${closing}>`);
    const text = this.xml.slice(this.pos, end);
    this.pos = end + closing.length + 3;
    return unescapeXml(text);
  }

  private expect(tag: string): void {
    const got = this.nextTag();
    if (got !== tag) throw new Error(`XML-RPC: expected <${tag}>, got <${got}>`);
  }

  /** Reads `<value>…</value>`, the opening tag already consumed. */
  value(): XmlRpcValue {
    const valueStart = this.pos;
    const tag = this.nextTag();
    if (tag === '/value') return unescapeXml(this.xml.slice(valueStart, this.pos - 8)); // bare string
    let result: XmlRpcValue;
    switch (tag) {
      case 'string':
        result = this.textUntil('string');
        break;
      case 'string/':
        result = '';
        break;
      case 'int':
      case 'i4':
      case 'double':
        result = Number(this.textUntil(tag));
        break;
      case 'boolean':
        result = this.textUntil('boolean').trim() === '1';
        break;
      case 'nil/':
        result = null;
        break;
      case 'array':
        result = this.array();
        break;
      case 'struct':
        result = this.struct();
        break;
      default:
        throw new Error(`XML-RPC: unsupported value type <${tag}>`);
    }
    this.expect('/value');
    return result;
  }

  private array(): XmlRpcValue[] {
    this.expect('data');
    const items: XmlRpcValue[] = [];
    for (let tag = this.nextTag(); tag !== '/data'; tag = this.nextTag()) {
      if (tag !== 'value') throw new Error(`XML-RPC: unexpected <${tag}> in array`);
      items.push(this.value());
    }
    this.expect('/array');
    return items;
  }

  private struct(): { [key: string]: XmlRpcValue } {
    const members: { [key: string]: XmlRpcValue } = {};
    for (let tag = this.nextTag(); tag !== '/struct'; tag = this.nextTag()) {
      if (tag !== 'member') throw new Error(`XML-RPC: unexpected <${tag}> in struct`);
      this.expect('name');
      const name = this.textUntil('name');
      this.expect('value');
      members[name] = this.value();
      this.expect('/member');
    }
    return members;
  }

  /** The result of a methodResponse, or throws its fault. */
  response(): XmlRpcValue {
    for (let tag = this.nextTag(); ; tag = this.nextTag()) {
      if (tag === 'fault') {
        this.expect('value');
        const fault = this.value() as { faultString?: string };
        throw new XmlRpcFault(fault.faultString ?? 'XML-RPC fault');
      }
      if (tag === 'value') return this.value();
    }
  }
}

export function parseResponse(xml: string): XmlRpcValue {
  return new Reader(xml).response();
}

/** One call over the unix socket; rejects on a fault, a refused socket or after `timeoutMs`. */
export function call(
  socketPath: string,
  method: string,
  params: string[] = [],
  timeoutMs = 2000,
): Promise<XmlRpcValue> {
  const body =
    `<?xml version="1.0"?><methodCall><methodName>${method}</methodName><params>` +
    params.map((p) => `<param><value><string>${escapeXml(p)}</string></value></param>`).join('') +
    `</params></methodCall>`;
  return new Promise((resolve, reject) => {
    const req = request(
      {
        socketPath,
        path: '/RPC2',
        method: 'POST',
        headers: { 'Content-Type': 'text/xml', 'Content-Length': Buffer.byteLength(body) },
        timeout: timeoutMs,
        agent: false,
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => {
          try {
            resolve(parseResponse(text));
          } catch (error) {
            reject(error as Error);
          }
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () =>
      req.destroy(new Error(`XML-RPC ${method}: no answer in ${timeoutMs} ms`)),
    );
    req.on('error', reject);
    req.end(body);
  });
}
