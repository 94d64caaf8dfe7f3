// Config validation: every bad field is named; defaults fill the rest; relative paths resolve
// against the config file's folder; the CLI reports errors without a stack and hashes passwords.
import { execFile } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parsePasswordHash } from '../../src/relay/auth.ts';
import { DEFAULT_LIMITS, loadConfig, parseConfig, parseListenAddress, RelayConfigError } from '../../src/relay/config.ts';

const SIGILL = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bin/sigill');
const run = promisify(execFile);

const base = {
  hostname: 'mx.sigill.test',
  domains: ['sigill.test'],
  users: [{ address: 'alice@sigill.test', password: 'pw' }],
  http: { token: 'a-long-enough-token' },
};
const { http: _http, ...withoutHttp } = base;

function errorOf(raw: unknown): string {
  try {
    parseConfig(raw, { baseDir: '/etc/sigill' });
  } catch (error) {
    expect(error).toBeInstanceOf(RelayConfigError);
    return (error as Error).message;
  }
  throw new Error('expected a RelayConfigError');
}

describe('relay config', () => {
  it('fills defaults and resolves paths against the config folder', () => {
    const config = parseConfig({ ...base, tls: { cert: 'tls/cert.pem', key: '/abs/key.pem' } }, { baseDir: '/etc/sigill' });
    expect(config.dataDir).toBe('/etc/sigill/.sigill-relay');
    expect(config.tls).toEqual({ cert: '/etc/sigill/tls/cert.pem', key: '/abs/key.pem' });
    expect(config.limits).toEqual(DEFAULT_LIMITS);
    expect(config.listen.submission).toEqual({ host: '127.0.0.1', port: 0 });
    expect(config.retry.scheduleSeconds).toEqual([60, 300, 900, 3600]);
  });

  it('disables a listener set to null', () => {
    const config = parseConfig({ ...base, listen: { pop3: null, smtp: '0.0.0.0:2525', http: '[::1]:8080' } }, { baseDir: '/' });
    expect(config.listen.pop3).toBeNull();
    expect(config.listen.smtp).toEqual({ host: '0.0.0.0', port: 2525 });
    expect(config.listen.http).toEqual({ host: '::1', port: 8080 });
  });

  it.each([
    [{ ...base, users: [base.users[0], { address: 'not an address', password: 'x' }] }, 'relay config: users[1].address: not an e-mail address'],
    [{ ...base, users: [{ address: 'a@elsewhere.test', password: 'x' }] }, 'relay config: users[0].address: domain elsewhere.test is not one of domains'],
    [{ ...base, users: [{ address: 'a@sigill.test' }] }, 'relay config: users[0]: needs exactly one of password, passwordHash'],
    [{ ...base, users: [{ address: 'a@sigill.test', passwordHash: 'md5$abc' }] }, 'relay config: users[0].passwordHash: expected scrypt$N$r$p$salt$hash'],
    [{ ...base, hostname: 'bad host' }, 'relay config: hostname: not a domain name'],
    [{ ...base, domains: [] }, 'relay config: domains: must be a non-empty array'],
    [{ ...base, listen: { smtp: '127.0.0.1:99999' } }, 'relay config: listen.smtp: expected host:port, got "127.0.0.1:99999"'],
    [{ ...base, listen: { imap: '127.0.0.1:0' } }, 'relay config: listen.imap: unknown field'],
    [{ ...base, limits: { messageSize: -1 } }, 'relay config: limits.messageSize: must be an integer >= 1024'],
    [{ ...base, retry: { scheduleSeconds: [60, 'soon'] } }, 'relay config: retry.scheduleSeconds[1]: must be a number >= 0'],
    [{ ...base, routes: { 'example.net': 'nowhere' } }, 'relay config: routes.example.net: expected host:port'],
    [{ ...base, tls: { cert: 'c.pem' } }, 'relay config: tls.key: must be a non-empty string'],
    [{ ...base, colour: 'blue' }, 'relay config: colour: unknown field'],
    [{ ...base, http: 'a-long-enough-token' }, 'relay config: http: must be an object with token'],
    [{ ...base, http: { bearer: 'a-long-enough-token' } }, 'relay config: http.bearer: unknown field'],
    [{ ...base, http: { token: 'too-short' } }, 'relay config: http.token: must be at least 16 characters'],
    [{ ...base, http: { token: 'has spaces, so never matches' } }, 'relay config: http.token: only printable ASCII without spaces'],
    [{ ...withoutHttp, listen: { http: '0.0.0.0:8080' } }, 'relay config: http.token: required while the HTTP view is enabled (listen.http 0.0.0.0:8080)'],
    [withoutHttp, 'relay config: http.token: required while the HTTP view is enabled (listen.http 127.0.0.1:0)'],
    [{ ...base, http: { token: 'a-long-enough-token', hosts: ['bad host'] } }, 'relay config: http.hosts[0]: not a host name or IP address'],
    [{ ...base, routes: { 'far.test': { nextHop: '127.0.0.1:25', recipients: ['a@other.test'] } } }, 'relay config: routes.far.test.recipients[0]: not an address at far.test'],
    [{ ...base, routes: { 'far.test': { nextHop: '127.0.0.1:25', recipients: 'a@far.test' } } }, 'relay config: routes.far.test.recipients: must be an array of addresses'],
    [{ ...base, routes: { 'far.test': { via: '127.0.0.1:25' } } }, 'relay config: routes.far.test.via: unknown field'],
    [{ ...base, postmaster: 'nobody@sigill.test' }, 'relay config: postmaster: must be the address of one of users'],
    [[1, 2], 'relay config: (root): must be a JSON object'],
  ])('names the bad field: %#', (raw, message) => {
    expect(errorOf(raw)).toContain(message);
  });

  it('takes a route as host:port or as { nextHop, recipients } (relay_recipient_maps)', () => {
    const config = parseConfig({ ...base, routes: { 'Far.Test': { nextHop: '127.0.0.1:2526', recipients: ['Bob@far.test'] }, 'open.test': '127.0.0.1:2527' } }, { baseDir: '/' });
    expect(config.routes).toEqual({ 'far.test': { host: '127.0.0.1', port: 2526 }, 'open.test': { host: '127.0.0.1', port: 2527 } });
    expect(config.relayRecipients).toEqual({ 'far.test': ['bob@far.test'] });
  });

  it('requires an HTTP view token wherever the view listens, and takes extra Host names', () => {
    expect(parseConfig(base, { baseDir: '/' }).http).toEqual({ token: 'a-long-enough-token', hosts: [] });
    const config = parseConfig({ ...base, listen: { http: '0.0.0.0:8080' }, http: { token: 'a-long-enough-token', hosts: ['Relay.Home.Arpa', '192.168.1.5'] } }, { baseDir: '/' });
    expect(config.listen.http).toEqual({ host: '0.0.0.0', port: 8080 });
    expect(config.http).toEqual({ token: 'a-long-enough-token', hosts: ['relay.home.arpa', '192.168.1.5'] });
    // A disabled view needs no token.
    expect(parseConfig({ ...withoutHttp, listen: { http: null } }, { baseDir: '/' }).http).toEqual({ token: null, hosts: [] });
  });

  it('parses listen addresses', () => {
    expect(parseListenAddress('2525', 'x')).toEqual({ host: '127.0.0.1', port: 2525 });
    expect(parseListenAddress('localhost:0', 'x')).toEqual({ host: 'localhost', port: 0 });
  });
});

describe('relay config files and the CLI', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sigill-config-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('reports unreadable files and bad JSON as config errors', async () => {
    await expect(loadConfig(path.join(dir, 'missing.json'))).rejects.toThrow(/^relay config: \(file\): cannot read /);
    await writeFile(path.join(dir, 'bad.json'), '{ "hostname": ');
    await expect(loadConfig(path.join(dir, 'bad.json'))).rejects.toThrow(/is not valid JSON/);
  });

  it('`sigill relay --config` with a bad field exits 2 with one clear line and no stack', async () => {
    const file = path.join(dir, 'relay.json');
    await writeFile(file, JSON.stringify({ ...base, users: [base.users[0], { address: 'nope', password: 'x' }] }));
    const result = await run(process.execPath, [SIGILL, 'relay', '--config', file]).catch((error: { code: number; stderr: string; stdout: string }) => error);
    expect(result).toMatchObject({ code: 2, stdout: '' });
    expect((result as { stderr: string }).stderr).toBe('relay config: users[1].address: not an e-mail address\n');
  });

  it('`sigill relay hash-password` reads stdin and prints a usable scrypt hash', async () => {
    const child = execFile(process.execPath, [SIGILL, 'relay', 'hash-password']);
    child.stdin?.end('s3cret\n');
    const output = await new Promise<string>((resolve, reject) => {
      let text = '';
      child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString()));
      child.on('exit', (code) => (code === 0 ? resolve(text) : reject(new Error(`exit ${code}`))));
    });
    expect(output).toMatch(/^scrypt\$[^\n]+\n$/);
    expect(() => parsePasswordHash(output.trim())).not.toThrow();
    const config = parseConfig({ ...base, users: [{ address: 'alice@sigill.test', passwordHash: output.trim() }] }, { baseDir: dir });
    const { Authenticator } = await import('../../src/relay/auth.ts');
    const authenticator = new Authenticator({ users: config.users });
    expect(await authenticator.authenticate({ username: 'alice@sigill.test', password: 's3cret', remoteAddress: '127.0.0.1', protocol: 'smtp' })).toMatchObject({ ok: true });
  });
});

describe('start-up errors are config errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'sigill-startup-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const startWith = async (extra: Record<string, unknown>) => {
    const { startRelay } = await import('../../src/relay/server.ts');
    const { silentLogger } = await import('../../src/relay/log.ts');
    const config = parseConfig({ ...base, listen: { submission: '127.0.0.1:0', smtp: null, pop3: null, http: null }, dataDir: 'data', ...extra }, { baseDir: dir });
    const relay = await startRelay({ config, logger: silentLogger() });
    await relay.close();
  };

  it('names tls for missing or unusable PEM files', async () => {
    await expect(startWith({ tls: { cert: 'none.pem', key: 'none.pem' } })).rejects.toThrow(/^relay config: tls\.key: cannot read .*none\.pem: ENOENT/);
    await writeFile(path.join(dir, 'junk.pem'), 'not a pem');
    await expect(startWith({ tls: { cert: 'junk.pem', key: 'junk.pem' } })).rejects.toThrow(/^relay config: tls: unusable certificate\/key/);
  });

  it('names the listener whose address is taken', async () => {
    const net = await import('node:net');
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as { port: number }).port;
    try {
      await expect(startWith({ listen: { submission: `127.0.0.1:${port}`, smtp: null, pop3: null, http: null } })).rejects.toThrow(
        `relay config: listen.submission: cannot listen on 127.0.0.1:${port}: EADDRINUSE`,
      );
    } finally {
      server.close();
    }
  });
});
