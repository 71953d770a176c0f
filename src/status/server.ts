// The status endpoint: the page at /, /healthz, /readyz, /status, /metrics over Node's own http
// (five read-only routes need no framework), and POST /reload, which asks the node to re-read its spec (the
// endpoint takes no input: whoever reaches it can only trigger what SIGHUP does). It is a pure
// serializer of what getStatus() returns: NodeStatus is
// built by the orchestration and holds no secret by construction (see model.ts), so nothing is
// filtered here; whoever adds a field to NodeStatus owns keeping secrets out of it.
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { listenUrl, parseListenAddress, type ListenAddress } from '../spec/index.ts';
import type { Logger } from '../log.ts';
import type { NodeStatus, ReloadStatus } from './model.ts';
import { METRICS_CONTENT_TYPE, renderMetrics } from './metrics.ts';
import { statusPage } from './page.ts';

export interface StatusServerOptions {
  /** `host:port` with an IPv4 literal, or `[host]:port` with an IPv6 literal; port 0 picks one. */
  listen: string;
  /**
   * Called once per request; must be cheap and must not throw (a throw answers 500). `fresh`:
   * the reader looks at the mesh view (/status, /metrics, the page), not just readiness.
   */
  getStatus: (fresh: boolean) => NodeStatus;
  /** POST /reload: reloads the node's spec and answers how it ended; absent, /reload is 404. */
  onReload?: () => Promise<ReloadStatus>;
  logger: Logger;
}

export interface StatusServer {
  /** Base URL to reach the endpoint, e.g. `http://127.0.0.1:9555` (loopback for a wildcard bind). */
  url: string;
  /** The address actually bound (the real port when `listen` asked for port 0). */
  address: { host: string; port: number };
  /** Stops listening and drops every open connection (keep-alive ones included); idempotent. */
  close(): Promise<void>;
}

const ALLOW = 'GET, HEAD';
const JSON_TYPE = 'application/json; charset=utf-8';
const TEXT_TYPE = 'text/plain; charset=utf-8';
const HTML_TYPE = 'text/html; charset=utf-8';

export async function startStatusServer(options: StatusServerOptions): Promise<StatusServer> {
  const { listen, getStatus, onReload, logger } = options;
  let wanted: ListenAddress;
  try {
    wanted = parseListenAddress(listen);
  } catch (err) {
    throw new Error(`status endpoint: bad listen address "${listen}": ${(err as Error).message}`);
  }
  const server = createServer((req, res) => {
    if ((req.url ?? '/').split('?')[0] === '/reload' && onReload) {
      void reload(req, res, onReload, logger);
    } else handle(req, res, getStatus, logger);
  });
  // A health checker that stalls must not hold a socket for Node's default five minutes.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      reject(
        new Error(`status endpoint cannot listen on ${listen}: ${describe(err)}`, { cause: err }),
      );
    };
    server.once('error', onError);
    server.listen(wanted.port, wanted.host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  server.on('error', (err) => logger.error({ err }, 'status endpoint error'));

  const bound = server.address() as AddressInfo;
  const address = { host: bound.address, port: bound.port };
  const url = listenUrl(address);
  logger.info({ listen, url }, 'status endpoint listening');

  let closing: Promise<void> | undefined;
  return {
    url,
    address,
    close() {
      closing ??= new Promise<void>((resolve, reject) => {
        server.close((err) => (err ? reject(err) : resolve()));
        // close() only stops accepting; keep-alive sockets (curl, scrapers) would hold it open.
        server.closeAllConnections();
      });
      return closing;
    },
  };
}

function handle(
  req: IncomingMessage,
  res: ServerResponse,
  getStatus: (fresh: boolean) => NodeStatus,
  logger: Logger,
): void {
  const [path = '/', query = ''] = (req.url ?? '/').split('?', 2);
  logger.debug({ method: req.method, path }, 'status request');
  if (req.method !== 'GET' && req.method !== 'HEAD') {
    send(res, 405, TEXT_TYPE, `method ${req.method} not allowed; use GET or HEAD\n`, {
      Allow: ALLOW,
    });
    return;
  }
  if (path === '/healthz') {
    // Liveness only: answering at all means the supervisor's event loop is running.
    send(res, 200, TEXT_TYPE, 'ok\n');
    return;
  }
  if (path === '/') {
    // The page reads /status itself: serving it reads nothing of the node.
    void statusPage().then(
      ({ html, headers }) => send(res, 200, HTML_TYPE, html, headers),
      (err: unknown) => {
        logger.error({ err }, 'status endpoint: the status page could not be built');
        send(res, 500, TEXT_TYPE, 'internal error building the status page\n');
      },
    );
    return;
  }
  if (path !== '/readyz' && path !== '/status' && path !== '/metrics') {
    send(
      res,
      404,
      TEXT_TYPE,
      `not found: ${path}; try / (the page), /healthz, /readyz, /status, /metrics\n`,
    );
    return;
  }

  let status: NodeStatus;
  try {
    status = getStatus(path !== '/readyz');
  } catch (err) {
    logger.error({ err, path }, 'status endpoint: reading the node status failed');
    send(res, 500, TEXT_TYPE, 'internal error reading the node status\n');
    return;
  }
  if (path === '/readyz') {
    const body = status.ready
      ? { ready: true }
      : { ready: false, stage: status.stage, reason: status.reason };
    send(res, status.ready ? 200 : 503, JSON_TYPE, JSON.stringify(body) + '\n');
  } else if (path === '/status') {
    // `?pretty` for people with curl; compact by default for machines.
    const pretty = new URLSearchParams(query).has('pretty');
    send(res, 200, JSON_TYPE, JSON.stringify(status, null, pretty ? 2 : undefined) + '\n');
  } else {
    send(res, 200, METRICS_CONTENT_TYPE, renderMetrics(status));
  }
}

/** HTTP status of each reload result: what `meshvisor reload` turns into its exit code. */
const RELOAD_STATUS: Record<ReloadStatus['result'], number> = {
  applied: 200,
  unchanged: 200,
  invalid: 422,
  refused: 409,
  failed: 500,
};

/** POST /reload: the one route that changes anything; it takes no input, it re-reads the spec. */
async function reload(
  req: IncomingMessage,
  res: ServerResponse,
  onReload: () => Promise<ReloadStatus>,
  logger: Logger,
): Promise<void> {
  if (req.method !== 'POST') {
    send(res, 405, TEXT_TYPE, `method ${req.method} not allowed; use POST\n`, { Allow: 'POST' });
    return;
  }
  try {
    const status = await onReload();
    send(res, RELOAD_STATUS[status.result], JSON_TYPE, JSON.stringify(status) + '\n');
  } catch (err) {
    logger.error({ err }, 'status endpoint: reload failed');
    send(res, 500, TEXT_TYPE, 'internal error during the reload\n');
  }
}

function send(
  res: ServerResponse,
  code: number,
  contentType: string,
  body: string,
  headers: Record<string, string> = {},
): void {
  // Node writes no body for HEAD but keeps these headers, so HEAD answers exactly like GET.
  res.writeHead(code, {
    'Content-Type': contentType,
    'Content-Length': Buffer.byteLength(body),
    'Cache-Control': 'no-store',
    ...headers,
  });
  res.end(body);
}

function describe(err: NodeJS.ErrnoException): string {
  switch (err.code) {
    case 'EADDRINUSE':
      return 'address already in use (another meshvisor or program holds the port?)';
    case 'EADDRNOTAVAIL':
      return 'address not available (no interface of this host has that IP)';
    case 'EACCES':
      return 'permission denied (ports below 1024 need privileges)';
    default:
      return err.message;
  }
}
