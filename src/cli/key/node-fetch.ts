/**
 * The `fetch` that `sigill key locate` injects into src/core/discovery: undici's (Node's own fetch
 * implementation), with curl's two ways of sending a host name elsewhere for private test set-ups:
 * - `--resolve HOST:PORT:ADDR`: connections to HOST on PORT go to ADDR (same port);
 * - `--connect-to HOST1:PORT1:HOST2:PORT2`: connections to HOST1 on PORT1 go to HOST2 on PORT2.
 * Only where the TCP connection goes changes: TLS still sends HOST as the server name (SNI) and
 * verifies the certificate against HOST. Certificates are verified against Node's default CA store,
 * which holds the certificates of NODE_EXTRA_CA_CERTS (read by Node at start-up) as well.
 */
import { rootCertificates } from 'node:tls';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import { SigillError, type Fetch } from '../../core/index.ts';

export interface HostRoute {
  host: string;
  port: number;
  toHost: string;
  toPort: number;
}

function parsePort(text: string, option: string, value: string): number {
  const port = Number(text);
  if (!/^\d+$/.test(text) || port < 1 || port > 65535) {
    throw new SigillError('BAD_INPUT', { detail: `${option} ${value}: ${JSON.stringify(text)} is not a port` });
  }
  return port;
}

/** Splits on ':' outside brackets, so `[::1]` stays one piece. */
function splitColons(value: string): string[] {
  const parts: string[] = [];
  let current = '';
  let inBrackets = false;
  for (const character of value) {
    if (character === '[') inBrackets = true;
    if (character === ']') inBrackets = false;
    if (character === ':' && !inBrackets) {
      parts.push(current);
      current = '';
    } else {
      current += character;
    }
  }
  parts.push(current);
  return parts;
}

function unbracket(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

/** `HOST:PORT:ADDR` as curl's --resolve (one address; an IPv6 address in brackets). */
export function parseResolve(value: string): HostRoute {
  const parts = splitColons(value);
  const [host, port, address] = parts;
  if (parts.length !== 3 || !host || !port || !address) {
    throw new SigillError('BAD_INPUT', { detail: `--resolve ${value}: expected HOST:PORT:ADDR` });
  }
  const portNumber = parsePort(port, '--resolve', value);
  return { host: host.toLowerCase(), port: portNumber, toHost: unbracket(address), toPort: portNumber };
}

/** `HOST1:PORT1:HOST2:PORT2` as curl's --connect-to. */
export function parseConnectTo(value: string): HostRoute {
  const parts = splitColons(value);
  const [host, port, toHost, toPort] = parts;
  if (parts.length !== 4 || !host || !port || !toHost || !toPort) {
    throw new SigillError('BAD_INPUT', { detail: `--connect-to ${value}: expected HOST1:PORT1:HOST2:PORT2` });
  }
  return { host: host.toLowerCase(), port: parsePort(port, '--connect-to', value), toHost: unbracket(toHost), toPort: parsePort(toPort, '--connect-to', value) };
}

export interface NodeFetchOptions {
  routes?: readonly HostRoute[];
  /** More trusted CA certificates (PEM) besides Node's defaults; tests use it in-process, where NODE_EXTRA_CA_CERTS cannot be set any more. */
  extraCA?: readonly string[];
}

export interface NodeFetch {
  fetch: Fetch;
  /** Closes idle connections, so the process can exit. */
  close(): Promise<void>;
}

export function createNodeFetch(options: NodeFetchOptions = {}): NodeFetch {
  const routes = options.routes ?? [];
  const connector = buildConnector(options.extraCA === undefined ? {} : { ca: [...rootCertificates, ...options.extraCA] });
  const agent = new Agent({
    connect(connectOptions, callback) {
      const defaultPort = connectOptions.protocol === 'https:' ? 443 : 80;
      const port = Number(connectOptions.port || defaultPort);
      const hostname = unbracket(connectOptions.hostname).toLowerCase();
      const route = routes.find((candidate) => candidate.host === hostname && candidate.port === port);
      if (route === undefined) return connector(connectOptions, callback);
      // `host` (the URL's host) is left as it is: undici takes the TLS server name from it.
      return connector({ ...connectOptions, hostname: route.toHost, port: String(route.toPort) }, callback);
    },
  });
  const fetch: Fetch = async (input, init) =>
    // undici's Response and RequestInit are the WHATWG ones the DOM typings describe; only the TypeScript declarations differ.
    (await undiciFetch(input, { ...(init as Parameters<typeof undiciFetch>[1]), dispatcher: agent })) as unknown as Response;
  return { fetch, close: () => agent.close() };
}
