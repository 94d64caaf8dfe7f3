/**
 * `host:port` listen addresses (`127.0.0.1:0`, `[::1]:1100`, `localhost:8080`) and the loopback test
 * that decides where plaintext authentication and an unauthenticated HTTP view are allowed; shared by
 * the SMTP, POP3 and HTTP listeners and the config.
 */
import { isIP, type Server } from 'node:net';

export interface ListenAddress {
  host: string;
  port: number;
}

export function parseListen(listen: string): ListenAddress {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+)):(\d{1,5})$/.exec(listen.trim());
  const host = match?.[1] ?? match?.[2];
  const port = Number(match?.[3]);
  if (host === undefined || !Number.isInteger(port) || port > 65_535) {
    throw new Error(`listen address must be host:port (e.g. 127.0.0.1:0 or [::1]:0), got ${JSON.stringify(listen)}`);
  }
  return { host, port };
}

/** 127.0.0.0/8, ::1, ::ffff:127.x.y.z and the name localhost. */
export function isLoopback(host: string): boolean {
  const bare = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (bare === 'localhost' || bare === '::1') return true;
  const v4 = bare.startsWith('::ffff:') ? bare.slice(7) : bare;
  return isIP(v4) === 4 && v4.startsWith('127.');
}

export function formatListen(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** Starts listening; a bind error (EADDRINUSE, EACCES ...) rejects instead of being emitted later. */
export function listenOn(server: Server, { host, port }: ListenAddress): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      server.off('error', reject);
      resolve();
    });
  });
}
