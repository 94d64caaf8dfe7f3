/**
 * Real key servers on loopback for discovery tests: one HTTPS (or HTTP) server that answers as a
 * Web Key Directory (advanced and direct method, told apart by the Host header, as a real WKD host
 * does) and as a VKS server (keys.openpgp.org's `/vks/v1/by-email/`, `/vks/v1/by-fingerprint/`).
 * Its certificate comes from a throwaway test CA that openssl makes at test time.
 *
 * The clients reach it under its real names (`openpgpkey.sigill.test`, `sigill.test`, ...): the
 * Node tests through `createNodeFetch`'s routes (`sigill key locate --connect-to` / `--resolve`),
 * Thunderbird through a loopback HTTPS proxy (`startTunnel`: its `network.proxy.ssl` prefs send every
 * `https://<name>:443` as `CONNECT <name>:443` to the tunnel, which joins it to the server's random
 * port), with the test CA in the profile's NSS database. Nothing here touches /etc/hosts or any port
 * but the random ones it listens on (unless told).
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import http from 'node:http';
import { connect } from 'node:net';
import https from 'node:https';
import type { AddressInfo, Socket } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, afterEach, beforeAll } from 'vitest';
import { createNodeFetch, type NodeFetch } from '../../src/cli/key/node-fetch.ts';
import { readKeys, wkdUrls } from '../../src/core/index.ts';

const run = promisify(execFile);

export interface TestCA {
  dir: string;
  /** PEM of the CA certificate (what NODE_EXTRA_CA_CERTS or an NSS database gets). */
  caCert: string;
  caCertPath: string;
  /** A server certificate and key (PEM) for every name in `hosts`, signed by the CA. */
  serverCert: string;
  serverKey: string;
  hosts: string[];
  remove(): Promise<void>;
}

/** Makes a CA and one server certificate for `hosts` (DNS names; 127.0.0.1 and localhost are added). */
export async function createTestCA(hosts: readonly string[]): Promise<TestCA> {
  const dir = await mkdtemp(path.join(tmpdir(), 'sigill-test-ca-'));
  const file = (name: string): string => path.join(dir, name);
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ec, '-days', '2', '-subj', '/CN=Sigill throwaway test CA', '-keyout', file('ca.key'), '-out', file('ca.crt'),
    '-addext', 'basicConstraints=critical,CA:TRUE', '-addext', 'keyUsage=critical,keyCertSign,cRLSign']);
  await run('openssl', ['req', ...ec, '-subj', `/CN=${hosts[0] ?? 'localhost'}`, '-keyout', file('server.key'), '-out', file('server.csr')]);
  const names = [...hosts.map((host) => `DNS:${host}`), 'DNS:localhost', 'IP:127.0.0.1'];
  await writeFile(file('server.ext'), `subjectAltName=${names.join(',')}\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n`);
  await run('openssl', ['x509', '-req', '-in', file('server.csr'), '-CA', file('ca.crt'), '-CAkey', file('ca.key'), '-CAcreateserial',
    '-days', '2', '-extfile', file('server.ext'), '-out', file('server.crt')]);
  return {
    dir,
    caCert: await readFile(file('ca.crt'), 'utf8'),
    caCertPath: file('ca.crt'),
    serverCert: await readFile(file('server.crt'), 'utf8'),
    serverKey: await readFile(file('server.key'), 'utf8'),
    hosts: [...hosts],
    remove: () => rm(dir, { recursive: true, force: true }),
  };
}

/** What the server does for one URL instead of its normal answer. */
export type Behaviour =
  | { status: number; body?: string | Uint8Array; headers?: Record<string, string> }
  | { redirect: string; status?: 301 | 302 | 303 | 307 | 308 }
  /** Accepts the request and never answers. */
  | { stall: 'headers' }
  /** Sends the status line, headers and `bytes` bytes of body, then nothing more. */
  | { stall: 'body'; bytes: number }
  /** Streams `bytes` bytes (chunked, no Content-Length) — or declares them in Content-Length when `declare` is set. */
  | { large: number; declare?: boolean };

export interface RequestRecord {
  host: string;
  /** Path and query as received. */
  url: string;
  /** For streamed answers: the bytes written before the client went away. */
  bytesWritten?: number;
}

export interface KeyServer {
  /** Where it listens, e.g. 127.0.0.1:41234. */
  address: string;
  port: number;
  protocol: 'http:' | 'https:';
  requests: RequestRecord[];
  /** Publishes key data (armored or binary; several keys allowed) for `address` in the WKD, by the methods given (default both). */
  publishWkd(address: string, data: string | Uint8Array, methods?: readonly ('advanced' | 'direct')[]): void;
  unpublishWkd(address: string): void;
  /** Publishes an armored certificate in the VKS by fingerprint and by every address in its user IDs (or `addresses`). */
  publishVks(armored: string, addresses?: readonly string[]): Promise<void>;
  /** Answers `url` (scheme://host/path, query ignored) with `behaviour` from now on. */
  override(url: string, behaviour: Behaviour): void;
  /** Forgets every published key, override and recorded request. */
  reset(): void;
  close(): Promise<void>;
}

export interface KeyServerOptions {
  /** Serve HTTPS with this certificate; plain HTTP without. */
  tls?: { cert: string; key: string };
  /** Listen address, default 127.0.0.1; any 127.0.0.0/8 address. */
  host?: string;
  /** Default 0 (a random free port). */
  port?: number;
}

const WKD_ADVANCED = /^\/\.well-known\/openpgpkey\/([^/]+)\/hu\/([a-z0-9]{32})$/;
const WKD_DIRECT = /^\/\.well-known\/openpgpkey\/hu\/([a-z0-9]{32})$/;
const WKD_POLICY = /^\/\.well-known\/openpgpkey\/(?:[^/]+\/)?policy$/;
const VKS_BY_EMAIL = /^\/vks\/v1\/by-email\/([^/]+)$/;
const VKS_BY_FINGERPRINT = /^\/vks\/v1\/by-fingerprint\/([0-9A-F]{40}|[0-9A-F]{64})$/;

export async function startKeyServer(options: KeyServerOptions = {}): Promise<KeyServer> {
  const protocol = options.tls === undefined ? 'http:' : 'https:';
  const wkd = new Map<string, Uint8Array>(); // `${host}${path}` -> data
  const vksByEmail = new Map<string, string>();
  const vksByFingerprint = new Map<string, string>();
  const overrides = new Map<string, Behaviour>();
  const requests: RequestRecord[] = [];
  const sockets = new Set<Socket>();

  function answer(response: http.ServerResponse, status: number, body: string | Uint8Array = '', headers: Record<string, string> = {}): void {
    const bytes = typeof body === 'string' ? Buffer.from(body) : Buffer.from(body.buffer, body.byteOffset, body.byteLength);
    response.writeHead(status, { 'content-length': String(bytes.byteLength), ...headers });
    response.end(bytes);
  }

  function behave(response: http.ServerResponse, record: RequestRecord, behaviour: Behaviour): void {
    if ('redirect' in behaviour) return answer(response, behaviour.status ?? 302, '', { location: behaviour.redirect });
    if ('stall' in behaviour) {
      if (behaviour.stall === 'body') {
        response.writeHead(200, { 'content-type': 'application/octet-stream' });
        response.write(Buffer.alloc(behaviour.bytes, 0x99));
      }
      return; // the socket is destroyed by close()
    }
    if ('large' in behaviour) {
      response.writeHead(200, behaviour.declare === true ? { 'content-length': String(behaviour.large) } : {});
      const chunk = Buffer.alloc(16 * 1024, 0x99);
      let written = 0;
      record.bytesWritten = 0;
      const pump = (): void => {
        while (written < behaviour.large) {
          const size = Math.min(chunk.byteLength, behaviour.large - written);
          written += size;
          record.bytesWritten = written;
          if (!response.write(chunk.subarray(0, size))) return void response.once('drain', pump);
        }
        response.end();
      };
      response.on('close', () => response.removeAllListeners('drain'));
      return pump();
    }
    return answer(response, behaviour.status, behaviour.body, behaviour.headers);
  }

  function handle(request: http.IncomingMessage, response: http.ServerResponse): void {
    const host = (request.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    const url = new URL(request.url ?? '/', `${protocol}//${host || 'unknown'}`);
    const record: RequestRecord = { host, url: `${url.pathname}${url.search}` };
    requests.push(record);
    const override = overrides.get(`${protocol}//${host}${url.pathname}`);
    if (override !== undefined) return behave(response, record, override);
    if (request.method !== 'GET') return answer(response, 405);
    const keyHeaders = { 'content-type': 'application/octet-stream', 'access-control-allow-origin': '*' };
    if (WKD_POLICY.test(url.pathname)) return answer(response, 200, '', { 'content-type': 'text/plain' });
    if (WKD_ADVANCED.test(url.pathname) || WKD_DIRECT.test(url.pathname)) {
      const data = wkd.get(`${host}${url.pathname}`);
      return data === undefined ? answer(response, 404, 'not found') : answer(response, 200, data, keyHeaders);
    }
    const byEmail = VKS_BY_EMAIL.exec(url.pathname);
    const byFingerprint = VKS_BY_FINGERPRINT.exec(url.pathname);
    if (byEmail !== null || byFingerprint !== null) {
      const armored = byEmail !== null ? vksByEmail.get(decodeURIComponent(byEmail[1] ?? '').toLowerCase()) : vksByFingerprint.get(byFingerprint?.[1] ?? '');
      return armored === undefined ? answer(response, 404, 'No key found') : answer(response, 200, armored, { 'content-type': 'application/pgp-keys; charset=utf-8' });
    }
    return answer(response, 404, 'not found');
  }

  const server = options.tls === undefined ? http.createServer(handle) : https.createServer({ cert: options.tls.cert, key: options.tls.key }, handle);
  // The raw TCP sockets (for HTTPS too), so close() can end stalled exchanges.
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, options.host ?? '127.0.0.1', () => resolve());
  });
  const info = server.address() as AddressInfo;

  return {
    address: `${info.address}:${info.port}`,
    port: info.port,
    protocol,
    requests,
    publishWkd(address, data, methods = ['advanced', 'direct']) {
      const bytes = typeof data === 'string' ? new TextEncoder().encode(data) : data;
      const urls = wkdUrls(address);
      for (const method of methods) {
        const url = new URL(urls[method]);
        wkd.set(`${url.hostname}${url.pathname}`, bytes);
      }
    },
    unpublishWkd(address) {
      const urls = wkdUrls(address);
      for (const method of ['advanced', 'direct'] as const) {
        const url = new URL(urls[method]);
        wkd.delete(`${url.hostname}${url.pathname}`);
      }
    },
    async publishVks(armored, addresses) {
      for (const key of await readKeys(armored)) {
        vksByFingerprint.set(key.getFingerprint().toUpperCase(), armored);
        const emails = addresses ?? key.users.map((user) => user.userID?.email ?? '').filter((email) => email !== '');
        for (const email of emails) vksByEmail.set(email.toLowerCase(), armored);
      }
    },
    override(url, behaviour) {
      const parsed = new URL(url);
      overrides.set(`${parsed.protocol}//${parsed.hostname}${parsed.pathname}`, behaviour);
    },
    reset() {
      wkd.clear();
      vksByEmail.clear();
      vksByFingerprint.clear();
      overrides.clear();
      requests.length = 0;
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}

/** The names the test servers answer for: a WKD domain with its advanced host, a VKS host, and a stranger. */
export const TEST_KEY_HOSTS = ['sigill.test', 'openpgpkey.sigill.test', 'keys.sigill.test', 'elsewhere.test'] as const;

export interface LoopbackKeyServers {
  ca: TestCA;
  server: KeyServer;
  /** curl-style `--connect-to` routes: every test host on port 443 to the server. */
  routes: { host: string; port: number; toHost: string; toPort: number }[];
  /** `--connect-to` option values for the CLI. */
  connectToArgs: string[];
  stop(): Promise<void>;
}

/** A test CA and one HTTPS key server (WKD and VKS) that every name in TEST_KEY_HOSTS reaches. */
export async function startLoopbackKeyServers(): Promise<LoopbackKeyServers> {
  const ca = await createTestCA(TEST_KEY_HOSTS);
  const server = await startKeyServer({ tls: { cert: ca.serverCert, key: ca.serverKey } });
  const routes = TEST_KEY_HOSTS.map((host) => ({ host, port: 443, toHost: '127.0.0.1', toPort: server.port }));
  return {
    ca,
    server,
    routes,
    connectToArgs: routes.flatMap((route) => ['--connect-to', `${route.host}:443:127.0.0.1:${route.toPort}`]),
    async stop() {
      await server.close();
      await ca.remove();
    },
  };
}

/**
 * For a describe block: starts the loopback WKD/VKS servers and a Node fetch that trusts their CA before
 * its tests (handing both to `assign`), resets the servers' per-URL answers after each test, and stops
 * everything after the block.
 */
export function useLoopbackKeyServers(assign: (started: { servers: LoopbackKeyServers; client: NodeFetch }) => void): void {
  let started: { servers: LoopbackKeyServers; client: NodeFetch } | undefined;
  beforeAll(async () => {
    const servers = await startLoopbackKeyServers();
    started = { servers, client: createNodeFetch({ routes: servers.routes, extraCA: [servers.ca.caCert] }) };
    assign(started);
  });
  afterAll(async () => {
    await started?.client.close();
    await started?.servers.stop();
  });
  afterEach(() => started?.servers.server.reset());
}

export interface Tunnel {
  port: number;
  /** Every CONNECT asked for (`host:port`), allowed or not. */
  connects: string[];
  /** Thunderbird prefs that send its HTTPS requests (and only those) through the tunnel. */
  thunderbirdPrefs: Record<string, string | number | boolean>;
  close(): Promise<void>;
}

/**
 * An HTTP CONNECT proxy on a random loopback port (RFC 9110 §9.3.6) that joins `CONNECT <host>:443`
 * for the names in `hosts` to the key server at `target` and refuses anything else (403). TLS stays
 * end to end between the client and the key server, so the client still checks the certificate for
 * the real name. This is how Thunderbird reaches the loopback WKD without port 443: a browser cannot
 * be told another port for a host, but it can be given a proxy.
 */
export async function startTunnel(options: { target: number; hosts: readonly string[] }): Promise<Tunnel> {
  const connects: string[] = [];
  const sockets = new Set<Socket>();
  const allowed = new Set(options.hosts.map((host) => `${host.toLowerCase()}:443`));
  const server = http.createServer((_request, response) => response.writeHead(405).end());
  server.on('connection', (socket: Socket) => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  });
  server.on('connect', (request: http.IncomingMessage, client: Socket, head: Buffer) => {
    const wanted = (request.url ?? '').toLowerCase();
    connects.push(wanted);
    if (!allowed.has(wanted)) {
      client.end('HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n');
      return;
    }
    const upstream = connect(options.target, '127.0.0.1', () => {
      client.write('HTTP/1.1 200 Connection Established\r\n\r\n');
      if (head.byteLength > 0) upstream.write(head);
      upstream.pipe(client);
      client.pipe(upstream);
    });
    sockets.add(upstream);
    upstream.once('close', () => sockets.delete(upstream));
    const stop = () => {
      upstream.destroy();
      client.destroy();
    };
    upstream.on('error', stop);
    client.on('error', stop);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    connects,
    thunderbirdPrefs: {
      // Manual proxy settings with only the HTTPS ("SSL") proxy: plain HTTP, mail and loopback stay direct.
      'network.proxy.type': 1,
      'network.proxy.share_proxy_settings': false,
      'network.proxy.ssl': '127.0.0.1',
      'network.proxy.ssl_port': port,
      'network.proxy.no_proxies_on': 'localhost, 127.0.0.1',
    },
    async close() {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      for (const socket of sockets) socket.destroy();
      await closed;
    },
  };
}
