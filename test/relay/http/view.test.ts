/** The read-only HTTP view over a real loopback socket (node:http as the client: it sends paths as given). */
import { mkdir, rm, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import { connect } from 'node:net';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.ts';
import { createLogger } from '../../../src/relay/log.ts';
import { MailboxStore } from '../../../src/relay/mailbox.ts';
import { startHttpView, type HttpView } from '../../../src/relay/http/index.ts';
import { parseHostPort } from '../../../src/relay/network.ts';
import { Spool } from '../../../src/relay/spool/index.ts';
import { startTestRelay } from '../helpers.ts';

interface Reply {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

const TOKEN = 'view-test-token-0123456789';
const LOOPBACK = { host: '127.0.0.1', port: 0 };

/** A request; with the view's token as a bearer unless `headers` says otherwise (an empty Authorization: none). */
function get(view: HttpView, path: string, options: { method?: string; headers?: Record<string, string> } = {}): Promise<Reply> {
  const { host, port } = view.address;
  const headers: Record<string, string> = { Authorization: `Bearer ${TOKEN}`, ...options.headers };
  if (headers.Authorization === '') delete headers.Authorization;
  return new Promise((resolve, reject) => {
    const req = request({ host, port, path, method: options.method ?? 'GET', headers }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (chunk: Buffer) => chunks.push(chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: Buffer.concat(chunks) }));
    });
    req.on('error', reject);
    req.end();
  });
}

const json = (reply: Reply): unknown => JSON.parse(reply.body.toString('utf8'));
const silent = createLogger({ stream: { write: () => true } });

describe('HTTP view', () => {
  let dir: string;
  let store: MailboxStore;
  let view: HttpView;
  const stored = Buffer.concat([
    Buffer.from('From: <script>alert(1)</script> "x" & \'y\'\r\nSubject: =?utf-8?q?caf=C3=A9?=\r\n\r\n'),
    Buffer.from([0x00, 0xff, 0xfe, 0x0d, 0x0a]),
    Buffer.from('-----BEGIN PGP MESSAGE-----\r\n<img src=x onerror=alert(2)>\r\n'),
  ]);

  beforeEach(async () => {
    dir = await tempDir('sigill-http-');
    store = new MailboxStore({ dir });
    await mkdir(join(dir, 'spool', 'queue'), { recursive: true });
    view = await startHttpView({ listen: LOOPBACK, store, spool: new Spool({ dir: join(dir, 'spool') }), logger: silent, token: TOKEN });
  });
  afterEach(async () => {
    await view.close();
    await rm(dir, { recursive: true, force: true });
  });

  it('lists mailboxes and messages as JSON and serves the raw bytes exactly', async () => {
    const id = await store.deliver('alice@example.test', stored);
    await store.deliver('bob@example.test', Buffer.from('x'));
    await store.deliver('bob@example.test', Buffer.from('yy'));

    const mailboxes = await get(view, '/api/mailboxes');
    expect(mailboxes.status).toBe(200);
    expect(mailboxes.headers['content-type']).toBe('application/json; charset=utf-8');
    expect(json(mailboxes)).toEqual([
      { address: 'alice@example.test', messages: 1 },
      { address: 'bob@example.test', messages: 2 },
    ]);

    const messages = await get(view, '/api/mailboxes/alice%40example.test/messages');
    expect(json(messages)).toEqual([{ id, size: stored.length, received: expect.stringMatching(/^\d{4}-\d\d-\d\dT/) as unknown }]);

    const raw = await get(view, `/api/mailboxes/alice@example.test/messages/${id}/raw`);
    expect(raw.status).toBe(200);
    expect(raw.headers['content-type']).toBe('message/rfc822');
    expect(raw.headers['content-length']).toBe(String(stored.length));
    expect(raw.body.equals(stored)).toBe(true);

    const head = await get(view, `/api/mailboxes/alice@example.test/messages/${id}/raw`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect(head.body.length).toBe(0);
  });

  it('shows stored source HTML-escaped under a strict CSP, with no script', async () => {
    const id = await store.deliver('alice@example.test', stored);
    for (const path of ['/', `/messages/alice%40example.test/${id}`]) {
      const page = await get(view, path);
      expect(page.status).toBe(200);
      expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
      expect(page.headers['content-security-policy']).toMatch(/^default-src 'none'/);
      expect(page.headers['x-content-type-options']).toBe('nosniff');
      const html = page.body.toString('utf8');
      expect(html).not.toMatch(/<script|<img/i);
      expect(html).not.toContain('\u0000');
      if (path !== '/') {
        expect(html).toContain('From: &#60;script&#62;alert(1)&#60;/script&#62; &#34;x&#34; &#38; &#39;y&#39;');
        expect(html).toContain('&#60;img src=x onerror=alert(2)&#62;');
        expect(html).toContain(`${stored.length} octets exactly as stored`);
        expect(html).toContain('\u2400\ufffd\ufffd'); // NUL as a control picture, invalid UTF-8 as U+FFFD
      } else {
        expect(html).toContain(`href="/messages/alice%40example.test/${id}"`);
      }
    }
  });

  it('writes counts in singular and plural ("1 message", never "1 messages")', async () => {
    const id = await store.deliver('alice@example.test', Buffer.from('x'));
    await store.deliver('bob@example.test', Buffer.from('yy'));
    await store.deliver('bob@example.test', Buffer.from('zzz'));
    const index = (await get(view, '/')).body.toString('utf8');
    expect(index).toContain('alice@example.test (1 message)</h2>');
    expect(index).toContain('bob@example.test (2 messages)</h2>');
    expect(index).toContain('Spool queue: 0 messages waiting');
    expect(index).not.toMatch(/\b1 messages\b/);
    expect((await get(view, `/messages/alice%40example.test/${id}`)).body.toString('utf8')).toContain('1 octet exactly as stored');
  });

  it('answers 405 to anything but GET and HEAD', async () => {
    for (const method of ['POST', 'PUT', 'DELETE', 'PATCH', 'OPTIONS']) {
      const reply = await get(view, '/api/mailboxes', { method });
      expect(reply.status, method).toBe(405);
      expect(reply.headers.allow).toBe('GET, HEAD');
    }
  });

  it('refuses traversal and malformed parameters with 400/404', async () => {
    await store.deliver('alice@example.test', Buffer.from('x'));
    await writeFile(join(dir, 'secret.txt'), 'secret');
    const attempts = [
      '/api/mailboxes/../../secret.txt',
      '/api/mailboxes/alice@example.test/messages/../../../secret.txt/raw',
      '/api/mailboxes/alice@example.test/messages/..%2f..%2fsecret.txt/raw',
      '/api/mailboxes/%2e%2e/messages',
      '/api/mailboxes/..%2F..%2F/messages',
      '/api/mailboxes/alice@example.test/messages/%2e%2e/raw',
      '/messages/alice@example.test/..%2Fmsg',
      '/messages/%2e%2e%2fmailboxes/x',
      '/api/mailboxes/alice@example.test/messages/.hidden/raw',
      '/api/mailboxes/%00/messages',
      '/api/mailboxes/%zz/messages',
      `/api/mailboxes/${'a'.repeat(3000)}/messages`,
    ];
    for (const path of attempts) {
      const reply = await get(view, path);
      expect([400, 404, 414], path).toContain(reply.status);
      expect(reply.body.toString()).not.toContain('secret');
    }
    expect((await get(view, '/api/mailboxes/nobody@example.test/messages')).status).toBe(404);
    expect((await get(view, '/api/mailboxes/alice@example.test/messages/0000-none/raw')).status).toBe(404);
    expect((await get(view, '/nothing/here')).status).toBe(404);
  });

  it('shows the spool queue read-only', async () => {
    const spool = new Spool({ dir: join(dir, 'spool') });
    await spool.init();
    const [record] = await spool.add({ sender: 'alice@example.test', recipients: ['carol@remote.test', 'dave@remote.test'] }, Buffer.from('Subject: queued\r\n\r\n'));
    const deferred = { ...record!, attempts: 2, nextAttemptAt: 1_700_000_060_000, lastError: '451 try later' };
    await spool.update(deferred);
    await spool.complete({ ...record!, index: 1, recipient: 'dave@remote.test' });
    const reply = await get(view, '/api/queue');
    expect(json(reply)).toEqual([
      {
        entryId: record!.entryId,
        size: 19,
        sender: 'alice@example.test',
        createdAt: new Date(record!.createdAt).toISOString(),
        recipients: [{ recipient: 'carol@remote.test', attempts: 2, nextAttemptAt: new Date(deferred.nextAttemptAt).toISOString(), lastError: '451 try later' }],
      },
    ]);
    // Read-only: the entry is still queued, with its state, for the queue to work on.
    expect(await spool.list()).toEqual([deferred]);
  });
});

describe('HTTP view access control', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await tempDir('sigill-http-');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const none = { Authorization: '' };

  it('requires the token always, also on loopback, as a bearer token', async () => {
    const view = await startHttpView({ listen: LOOPBACK, store: new MailboxStore({ dir }), logger: silent, token: TOKEN });
    try {
      const refused = await get(view, '/api/mailboxes', { headers: none });
      expect(refused.status).toBe(401);
      expect(refused.headers['www-authenticate']).toBe('Bearer realm="sigill-relay"');
      expect((await get(view, '/', { headers: none })).status).toBe(401);
      expect((await get(view, '/api/mailboxes', { headers: { Authorization: 'Bearer wrong-token-of-some-length' } })).status).toBe(401);
      expect((await get(view, '/', { headers: { Authorization: `Basic ${TOKEN}` } })).status).toBe(401);
      expect((await get(view, '/api/mailboxes')).status).toBe(200);
      expect((await get(view, '/api/queue')).status).toBe(404); // no spool
    } finally {
      await view.close();
    }
  });

  it('takes the token once from the URL: a redirect without it sets an HttpOnly, SameSite=Strict cookie', async () => {
    const view = await startHttpView({ listen: LOOPBACK, store: new MailboxStore({ dir }), logger: silent, token: TOKEN });
    try {
      const { port } = view.address;
      const redirect = await get(view, `/api/mailboxes?x=1&token=${TOKEN}`, { headers: none });
      expect(redirect.status).toBe(303);
      expect(redirect.headers.location).toBe('/api/mailboxes?x=1');
      const [cookie] = (redirect.headers['set-cookie'] ?? []) as string[];
      expect(cookie).toBe(`sigill-relay-${port}=${TOKEN}; Path=/; HttpOnly; SameSite=Strict`);
      const pair = cookie!.split(';')[0]!;
      expect((await get(view, '/api/mailboxes', { headers: { ...none, Cookie: `other=1; ${pair}` } })).status).toBe(200);
      expect((await get(view, '/api/mailboxes', { headers: { ...none, Cookie: `sigill-relay-${port}=wrong-token-of-some-length` } })).status).toBe(401);

      const wrong = await get(view, '/?token=wrong-token-of-some-length', { headers: none });
      expect(wrong.status).toBe(401);
      expect(wrong.headers['set-cookie']).toBeUndefined();
      // The redirect only ever names a path here, never another site.
      for (const path of [`/.//evil.example/?token=${TOKEN}`, `//evil.example/?token=${TOKEN}`]) {
        const reply = await get(view, path, { headers: none });
        expect(reply.headers.location ?? '/', path).toMatch(/^\/(?![/\\])/);
      }
    } finally {
      await view.close();
    }
  });

  it('refuses a Host that is not a loopback literal, localhost or a configured name (DNS rebinding)', async () => {
    const view = await startHttpView({ listen: LOOPBACK, store: new MailboxStore({ dir }), logger: silent, token: TOKEN, allowedHosts: ['mx.sigill.test'] });
    try {
      const { port } = view.address;
      for (const host of [`attacker.example:${port}`, 'attacker.example', `127.0.0.1.nip.io:${port}`, `localhost.attacker.example:${port}`, 'a b']) {
        const reply = await get(view, '/api/mailboxes', { headers: { Host: host } });
        expect(reply.status, host).toBe(403);
        expect(reply.body.toString()).not.toContain('mailboxes":');
      }
      // HTTP/1.0 without any Host at all.
      const socket = connect(port, '127.0.0.1');
      socket.end(`GET /api/mailboxes HTTP/1.0\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
      const raw = await new Promise<string>((resolve) => {
        let text = '';
        socket.on('data', (chunk: Buffer) => (text += chunk.toString('latin1')));
        socket.on('close', () => resolve(text));
      });
      expect(raw).toMatch(/^HTTP\/1\.1 403 /);
      for (const host of [`127.0.0.1:${port}`, `127.0.0.2:${port}`, `[::1]:${port}`, `localhost:${port}`, 'LOCALHOST.', `mx.sigill.test:${port}`]) {
        expect((await get(view, '/api/mailboxes', { headers: { Host: host } })).status, host).toBe(200);
      }
    } finally {
      await view.close();
    }
  });

  it('takes its token from the relay config (http.token)', async () => {
    const token = 'config-token-0123456789';
    const relay = await startTestRelay({ listen: { http: '127.0.0.1:0' }, http: { token } });
    try {
      const view: HttpView = { address: parseHostPort(relay.info.http ?? ''), close: async () => {} };
      expect((await get(view, '/api/queue', { headers: none })).status).toBe(401);
      expect((await get(view, '/', { headers: { Authorization: 'Bearer not-the-configured-token' } })).status).toBe(401);
      const queue = await get(view, '/api/queue', { headers: { Authorization: `Bearer ${token}` } });
      expect(queue.status).toBe(200);
      expect(json(queue)).toEqual([]);
    } finally {
      await relay.stop();
    }
  });

  it('refuses to start without a token, wherever it listens', async () => {
    const store = new MailboxStore({ dir });
    for (const host of ['127.0.0.1', '0.0.0.0']) {
      await expect(startHttpView({ listen: { host, port: 0 }, store, logger: silent, token: '' })).rejects.toThrow(/token must be at least 16/);
    }
  });
});
