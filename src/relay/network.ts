/**
 * The network helpers every listener and the config share: one listen-address type, one `host:port`
 * parser and formatter, the loopback test that decides where plaintext logins are allowed, binding
 * with errors as rejections, and the key by which a client is counted (auth penalty, connection
 * limits).
 */
import { isIP, type Server } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

export class HostPortError extends Error {
  override name = 'HostPortError';
}

/**
 * Parses `host:port` or `[v6]:port`; with `defaultHost`, also `:port` and a bare `port`. Port 0 means
 * "any free port". Throws HostPortError.
 */
export function parseHostPort(text: string, options: { defaultHost?: string } = {}): ListenAddress {
  const trimmed = text.trim();
  const withHost = options.defaultHost !== undefined && !trimmed.includes(':') ? `:${trimmed}` : trimmed;
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]*)):(\d{1,5})$/.exec(withHost);
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !(port >= 0 && port <= 65_535) || (host === '' && options.defaultHost === undefined)) {
    throw new HostPortError(`expected host:port (e.g. 127.0.0.1:0 or [::1]:0), got ${JSON.stringify(text)}`);
  }
  return { host: host === '' ? (options.defaultHost ?? '') : host, port };
}

/** `host:port`, with IPv6 hosts in brackets. */
export function formatHostPort(address: ListenAddress): string {
  return address.host.includes(':') ? `[${address.host}]:${address.port}` : `${address.host}:${address.port}`;
}

/** 127.0.0.0/8, ::1, ::ffff:127.x.y.z and the name localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

/** Starts listening and resolves the bound address; a bind error (EADDRINUSE, EACCES ...) rejects. */
export function listenOn(server: Server, { host, port }: ListenAddress): Promise<ListenAddress> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      const bound = server.address();
      resolve(typeof bound === 'object' && bound !== null ? { host: bound.address, port: bound.port } : { host, port });
    });
  });
}

/**
 * The key a client is counted by: its address, an IPv4-mapped IPv6 address as IPv4, and an IPv6
 * address by its /64 (one host usually has a whole /64 to pick addresses from).
 */
export function clientKey(remoteAddress: string): string {
  const bare = remoteAddress.toLowerCase().replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '');
  if (isIP(bare) !== 6) return bare;
  const [head = '', tail = ''] = bare.split('::');
  const headGroups = head === '' ? [] : head.split(':');
  const tailGroups = tail === '' ? [] : tail.split(':');
  const groups = bare.includes('::') ? [...headGroups, ...Array<string>(8 - headGroups.length - tailGroups.length).fill('0'), ...tailGroups] : headGroups;
  return `${groups.slice(0, 4).map((group) => Number.parseInt(group, 16).toString(16)).join(':')}::/64`;
}
