// The status page at `/`: one self-contained HTML document (no CDN, nothing to build), served by
// the status endpoint itself. Its script reads `/status` every two seconds and draws it with DOM
// calls and textContent only (a check's output is Consul's text, never markup); the endpoint's
// own rate limit (one read of each kind a second, shared by every reader) bounds what a page left
// open costs Consul and Envoy. The Content-Security-Policy allows exactly this style and script
// (by hash) and requests to this origin: nothing else loads, and the page cannot post anything.

const STYLE = `
:root { color-scheme: light dark; --ok: #1a7f37; --bad: #cf222e; --warn: #9a6700; --dim: #6e7781;
  --line: #d0d7de; --bar: #0969da; font: 14px/1.4 system-ui, sans-serif; }
body { margin: 0 auto; padding: 16px 24px; max-width: 1200px; }
h1 { font-size: 20px; margin: 0 0 4px; } h2 { font-size: 16px; margin: 24px 0 8px; }
.sub, .dim { color: var(--dim); } .mono { font-family: ui-monospace, monospace; font-size: 12px; }
.badge { display: inline-block; padding: 2px 10px; border-radius: 10px; font-weight: 600; }
.badge.ok { background: var(--ok); color: #fff; } .badge.bad { background: var(--bad); color: #fff; }
.banner { padding: 8px 12px; border-radius: 6px; margin: 8px 0; border: 1px solid var(--bad); }
.banner.warn { border-color: var(--warn); }
table { border-collapse: collapse; width: 100%; } th { text-align: left; color: var(--dim); font-weight: 600; }
td, th { padding: 4px 8px; border-bottom: 1px solid var(--line); vertical-align: top; }
td.time { white-space: nowrap; width: 1%; }
.ok { color: var(--ok); } .bad { color: var(--bad); } .warn { color: var(--warn); }
tr.failing td:first-child { border-left: 4px solid var(--bad); } tr.serving td:first-child { border-left: 4px solid var(--ok); }
.stage { display: grid; grid-template-columns: 180px 1fr 90px; gap: 8px; align-items: center; margin: 2px 0; }
.track { background: var(--line); height: 10px; border-radius: 5px; position: relative; }
.bar { position: absolute; height: 10px; border-radius: 5px; background: var(--bar); min-width: 3px; }
.bar.failed { background: var(--bad); } .bar.running { background: var(--warn); } .bar.pending { background: none; }
.service { border: 1px solid var(--line); border-radius: 6px; padding: 8px 12px; margin: 8px 0; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 5px; margin-right: 6px; background: var(--dim); }
.dot.passing { background: var(--ok); } .dot.critical { background: var(--bad); } .dot.warning { background: var(--warn); }
.output { white-space: pre-wrap; word-break: break-word; }
`;

const SCRIPT = `
'use strict';
const REFRESH_MS = 2000;
const main = document.getElementById('main');
const note = document.getElementById('note');
let lastOk = 0;

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs || {})) {
    if (value !== null && value !== undefined) node.setAttribute(key, String(value));
  }
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    node.append(typeof child === 'string' || typeof child === 'number' ? String(child) : child);
  }
  return node;
}

function table(headers, rows, empty) {
  if (rows.length === 0) return el('p', { class: 'dim' }, empty);
  return el('table', {}, el('thead', {}, el('tr', {}, ...headers.map((h) => el('th', {}, h)))),
    el('tbody', {}, ...rows));
}

function seconds(s) {
  if (s === null || s === undefined) return '-';
  if (s < 1) return Math.round(s * 1000) + ' ms';
  if (s < 120) return s.toFixed(1) + ' s';
  if (s < 7200) return Math.round(s / 60) + ' min';
  if (s < 172800) return (s / 3600).toFixed(1) + ' h';
  return Math.floor(s / 86400) + ' days';
}

function header(s) {
  const state = s.ready ? ['ok', 'READY'] : s.stage === 'stopped' ? ['bad', 'STOPPED'] : ['bad', 'NOT READY'];
  return el('header', {},
    el('h1', {}, s.node + ' ', el('span', { class: 'badge ' + state[0], id: 'readiness' }, state[1])),
    el('div', { class: 'sub' }, s.role + ' in datacenter ' + s.datacenter + ' · ' + (s.address || 'no address yet') +
      ' · meshvisor ' + s.version + ' · up ' + seconds(s.uptimeSeconds) + ' · spec generation ' + s.spec.generation),
    s.ready ? null : el('div', { class: 'banner' }, 'stage ' + s.stage + ': ' + (s.reason || 'starting')),
    s.degraded ? el('div', { class: 'banner warn' }, 'degraded since ' + s.degraded.since + ': ' + s.degraded.reason) : null,
    s.mesh.errors.length ? el('div', { class: 'banner warn' }, 'could not read: ' + s.mesh.errors.join('; ')) : null);
}

function stages(list) {
  // The bars share one time axis, from the first stage's start to the last one's end (now, while
  // one runs).
  const endOf = (st) => (st.state === 'running' ? Date.now() : Date.parse(st.finishedAt || ''));
  const begin = Math.min(...list.map((st) => Date.parse(st.startedAt || '')).filter(Number.isFinite));
  const end = Math.max(...list.map(endOf).filter(Number.isFinite));
  const span = Math.max(end - begin, 1);
  return el('section', { id: 'stages' }, el('h2', {}, 'Bring-up'),
    ...list.map((st) => {
      const from = Date.parse(st.startedAt || '');
      const to = endOf(st);
      const bar = el('div', { class: 'bar ' + st.state });
      if (Number.isFinite(from) && Number.isFinite(to)) {
        bar.style.left = ((from - begin) / span) * 100 + '%';
        bar.style.width = ((to - from) / span) * 100 + '%';
      }
      return el('div', { class: 'stage', 'data-stage': st.name },
        el('span', {}, st.name, st.error ? el('div', { class: 'bad mono' }, st.error) : null),
        el('div', { class: 'track', title: st.state }, bar),
        el('span', { class: st.state === 'failed' ? 'bad' : 'dim' }, st.state === 'done' ? seconds(st.durationSeconds) : st.state));
    }));
}

function programs(list) {
  return el('section', { id: 'programs' }, el('h2', {}, 'Programs'),
    table(['program', 'state', 'pid', 'restarts', 'last exit', 'problem'], list.map((p) =>
      el('tr', { class: p.ready ? 'serving' : 'failing' },
        el('td', {}, p.name), el('td', { class: p.ready ? 'ok' : 'bad' }, p.state), el('td', {}, p.pid ?? '-'),
        el('td', {}, p.restarts),
        el('td', {}, p.lastExit ? (p.lastExit.signal || 'code ' + p.lastExit.code) + ' at ' + p.lastExit.at : '-'),
        el('td', { class: 'mono' }, p.notReadyReason || ''))), 'no programs'));
}

function services(list) {
  return el('section', { id: 'services' }, el('h2', {}, 'Services'),
    list.length === 0 ? el('p', { class: 'dim' }, 'no services') : null,
    ...list.map((svc) => el('div', { class: 'service', 'data-service': svc.id },
      el('strong', {}, svc.name), el('span', { class: 'dim' }, ' ' + svc.id),
      svc.checks.length === 0 ? el('div', { class: 'dim' }, 'no checks') : null,
      ...svc.checks.map((c) => el('div', { 'data-check': c.id, 'data-status': c.status },
        el('span', { class: 'dot ' + c.status }), el('span', {}, c.name + ': '),
        el('span', { class: c.status === 'passing' ? 'ok' : c.status === 'warning' ? 'warn' : 'bad' }, c.status),
        el('span', { class: 'dim' }, ' since ' + c.since),
        c.output ? el('div', { class: 'output mono' }, c.output) : null)))));
}

function upstreams(list) {
  return el('section', { id: 'upstreams' }, el('h2', {}, 'Upstreams'),
    table(['upstream', 'from', 'port', 'healthy', 'envoy endpoints', 'allowed', 'why not'], list.map((u) =>
      el('tr', { class: u.reason === null ? 'serving' : 'failing', 'data-upstream': u.source + '->' + u.service + '@' + u.datacenter },
        el('td', {}, u.service + '@' + u.datacenter), el('td', {}, u.source), el('td', {}, u.localPort),
        el('td', { class: u.healthy > 0 ? 'ok' : 'bad' }, u.healthy + '/' + u.total),
        el('td', {}, u.envoyEndpoints ? u.envoyEndpoints.healthy + '/' + u.envoyEndpoints.total : '-'),
        el('td', { class: u.allowed === false ? 'bad' : '' }, u.allowed === null ? '?' : u.allowed ? 'yes' : 'no'),
        el('td', { class: u.reason === null ? 'ok' : 'bad' }, u.reason === null ? 'can serve' : u.reason))), 'no upstreams'));
}

function proxies(list) {
  const rejected = (byType) => Object.entries(byType).filter(([, n]) => n > 0).map(([t, n]) => t + ' ' + n).join(', ') || '-';
  const certs = list.flatMap((p) => p.certificates.map((c) =>
    el('tr', { class: c.warning || c.secondsLeft <= 0 ? 'failing' : 'serving' },
      el('td', {}, p.name), el('td', {}, c.kind), el('td', { class: 'mono' }, c.serial),
      el('td', {}, c.secondsLeft > 0 ? seconds(c.secondsLeft) : 'expired'), el('td', {}, c.expiresAt),
      el('td', { class: 'warn' }, c.warning || ''))));
  return el('section', { id: 'proxies' }, el('h2', {}, 'Proxies'),
    table(['proxy', 'state', 'listeners', 'rejected updates', 'connect failures', 'problem'], list.map((p) =>
      el('tr', { class: p.state === 'LIVE' && !p.error && !p.lastRejection ? 'serving' : 'failing' },
        el('td', {}, p.name), el('td', {}, p.state || 'no answer'), el('td', { title: p.listeners.join('\\n') }, p.listeners.length),
        el('td', {}, rejected(p.rejectedUpdates)), el('td', {}, p.connectFailures),
        el('td', { class: 'bad mono' }, p.error ? 'admin API: ' + p.error : p.lastRejection ? 'rejected: ' + p.lastRejection : ''))),
      'no proxies'),
    el('h2', {}, 'Certificates'),
    table(['proxy', 'kind', 'serial', 'expires in', 'expires at', 'warning'], certs, 'no certificates read'));
}

function events(list) {
  return el('section', { id: 'events' }, el('h2', {}, 'Events'),
    table(['time', 'event'], list.slice(-30).map((e) =>
      el('tr', {}, el('td', { class: 'mono time' }, e.at), el('td', {}, e.message))), 'no events yet'));
}

function draw(s) {
  main.replaceChildren(header(s), stages(s.stages), services(s.mesh.services), upstreams(s.mesh.upstreams),
    proxies(s.mesh.proxies), programs(s.programs), events(s.events));
  document.title = (s.ready ? '' : '(not ready) ') + s.node + ' · meshvisor';
}

async function refresh() {
  try {
    const res = await fetch('/status', { cache: 'no-store' });
    if (!res.ok) throw new Error('/status answered ' + res.status);
    draw(await res.json());
    lastOk = Date.now();
    note.textContent = 'updated ' + new Date(lastOk).toLocaleTimeString() + ' · every ' + REFRESH_MS / 1000 + ' s';
    note.className = 'dim';
  } catch (err) {
    note.textContent = 'cannot read /status (' + err.message + ')' + (lastOk ? '; shown as of ' + new Date(lastOk).toLocaleTimeString() : '');
    note.className = 'bad';
  } finally {
    setTimeout(refresh, REFRESH_MS);
  }
}
refresh();
`;

const HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>meshvisor</title>
<style>${STYLE}</style>
</head>
<body>
<div id="note" class="dim">reading /status…</div>
<main id="main"></main>
<script>${SCRIPT}</script>
</body>
</html>
`;

export interface StatusPage {
  html: string;
  headers: Record<string, string>;
}

let page: Promise<StatusPage> | undefined;

/**
 * The page and its headers. The CSP names the inline style and script by their sha256, so
 * node:crypto loads on the first request for the page, not with every node.
 */
export function statusPage(): Promise<StatusPage> {
  page ??= import('node:crypto').then(({ createHash }) => {
    const hash = (text: string) => `'sha256-${createHash('sha256').update(text).digest('base64')}'`;
    const policy = [
      "default-src 'none'",
      `style-src ${hash(STYLE)}`,
      `script-src ${hash(SCRIPT)}`,
      "connect-src 'self'",
      "base-uri 'none'",
      "form-action 'none'",
      "frame-ancestors 'none'",
    ].join('; ');
    return {
      html: HTML,
      headers: {
        'Content-Security-Policy': policy,
        'X-Content-Type-Options': 'nosniff',
        'Referrer-Policy': 'no-referrer',
      },
    };
  });
  return page;
}
