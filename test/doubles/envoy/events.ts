// What the envoy double tells tests: one JSON line per event, appended to $ENVOY_DOUBLE_EVENTS
// (shared by every envoy of a test; each line names its pid and admin address) or, unset, on
// stderr. Admin calls are `{"event":"admin","method":"POST","path":"/quitquitquit",...}` in the
// order they were received, so a test can assert "drain, then quit".
import { appendFileSync } from 'node:fs';

export type EnvoyEvent = Record<string, string | number | boolean | null>;

export class EventLog {
  constructor(
    private readonly file = process.env.ENVOY_DOUBLE_EVENTS,
    private readonly base: EnvoyEvent = { pid: process.pid },
  ) {}

  with(fields: EnvoyEvent): EventLog {
    return new EventLog(this.file, { ...this.base, ...fields });
  }

  emit(event: string, fields: EnvoyEvent = {}): void {
    const now = new Date();
    const line =
      JSON.stringify({ ts: now.toISOString(), t: now.getTime(), event, ...this.base, ...fields }) +
      '\n';
    if (this.file) appendFileSync(this.file, line);
    else process.stderr.write(line);
  }
}
