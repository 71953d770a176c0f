// hclog-shaped log lines, as `consul agent` 1.10 prints them on stdout:
//   2026-11-25T12:19:01.528Z [INFO]  agent: Consul agent running!
//   2026-11-25T12:19:01.529Z [WARN]  agent: Join cluster failed, will retry: cluster=LAN retry_interval=30s error=<nil>
// With log_json, one JSON object per line (@level, @message, @module, @timestamp, fields).

export type Level = 'TRACE' | 'DEBUG' | 'INFO' | 'WARN' | 'ERROR';
const ORDER: Level[] = ['TRACE', 'DEBUG', 'INFO', 'WARN', 'ERROR'];
export type Fields = Record<string, string | number | boolean>;

export function parseLevel(s: string | undefined): Level {
  const up = (s ?? 'info').toUpperCase();
  if (up === 'WARNING') return 'WARN';
  if (up === 'ERR') return 'ERROR';
  return (ORDER as string[]).includes(up) ? (up as Level) : 'INFO';
}

function fmtValue(v: string | number | boolean): string {
  const s = String(v);
  return /[\s="]/.test(s) ? `"${s}"` : s;
}

export class Logger {
  constructor(
    public level: Level = 'INFO',
    public json = false,
    private readonly out: (line: string) => void = (l) => process.stdout.write(l + '\n'),
  ) {}

  enabled(level: Level): boolean {
    return ORDER.indexOf(level) >= ORDER.indexOf(this.level);
  }

  log(level: Level, module: string, msg: string, fields: Fields = {}): void {
    if (!this.enabled(level)) return;
    const ts = new Date().toISOString();
    if (this.json) {
      this.out(
        JSON.stringify({
          '@level': level.toLowerCase(),
          '@message': msg,
          '@module': module,
          '@timestamp': ts,
          ...fields,
        }),
      );
      return;
    }
    const kv = Object.entries(fields)
      .map(([k, v]) => `${k}=${fmtValue(v)}`)
      .join(' ');
    this.out(`${ts} ${`[${level}]`.padEnd(7)} ${module}: ${msg}${kv ? `: ${kv}` : ''}`);
  }

  info(module: string, msg: string, fields?: Fields): void {
    this.log('INFO', module, msg, fields);
  }
  warn(module: string, msg: string, fields?: Fields): void {
    this.log('WARN', module, msg, fields);
  }
  error(module: string, msg: string, fields?: Fields): void {
    this.log('ERROR', module, msg, fields);
  }
  debug(module: string, msg: string, fields?: Fields): void {
    this.log('DEBUG', module, msg, fields);
  }
}
