/**
 * POP3 over real loopback sockets with a raw client: the protocol edge cases (RFC 1939, RFC 2449 CAPA
 * and response codes, RFC 5034 AUTH PLAIN) and the relay's POP3 security rules of docs/security.md.
 */
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { encodeMultiline } from '../../../src/relay/pop3/multiline.ts';
import { ALICE, BOB, bytes, CAROL, RawClient, startFixture, type Pop3Fixture } from './helpers.ts';
import { waitFor } from '../helpers.ts';

const STUFFED = 'Subject: dots\r\n\r\n.leading dot\r\n..two dots\r\n.\r\nnormal\r\n';

describe('MultilineEncoder (RFC 1939 §3 byte-stuffing)', () => {
  const encode = (text: string, bodyLines?: number): string => encodeMultiline(bytes(text), { bodyLines }).toString('latin1');

  it('stuffs lines starting with ".", normalises bare LF, keeps a bare CR inside a line, ends with "."', () => {
    expect(encode(STUFFED)).toBe('Subject: dots\r\n\r\n..leading dot\r\n...two dots\r\n..\r\nnormal\r\n.\r\n');
    expect(encode('a\nb\n.c')).toBe('a\r\nb\r\n..c\r\n.\r\n');
    expect(encode('a\rb\r\n')).toBe('a\rb\r\n.\r\n');
    expect(encode('')).toBe('.\r\n');
  });

  it('gives the same bytes whatever the chunking', async () => {
    const { MultilineEncoder } = await import('../../../src/relay/pop3/multiline.ts');
    const message = 'H: 1\r\n\r\n.x\r\n\r\r\n.\r\ny\rz\n.\n';
    const whole = encode(message);
    const encoder = new MultilineEncoder();
    const parts: Buffer[] = [];
    for (const char of message) parts.push(encoder.push(bytes(char)));
    parts.push(encoder.finish());
    expect(Buffer.concat(parts).toString('latin1')).toBe(whole);
  });

  it('TOP sends the headers, the blank line and n body lines', () => {
    const message = 'A: 1\r\nB: 2\r\n\r\nline1\r\n.line2\r\nline3\r\n';
    expect(encode(message, 0)).toBe('A: 1\r\nB: 2\r\n\r\n.\r\n');
    expect(encode(message, 2)).toBe('A: 1\r\nB: 2\r\n\r\nline1\r\n..line2\r\n.\r\n');
    expect(encode(message, 99)).toBe(`${message.replace('.line2', '..line2')}.\r\n`);
  });
});

describe('POP3 server', () => {
  let fixture: Pop3Fixture;
  const clients: RawClient[] = [];
  const open = async (): Promise<RawClient> => {
    const client = await RawClient.open(fixture);
    clients.push(client);
    return client;
  };

  beforeEach(async () => {
    fixture = await startFixture();
  });
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await fixture.close();
  });

  it('greets, lists capabilities, and logs in with USER/PASS on loopback', async () => {
    const client = await open();
    const capa = await client.multiline('CAPA');
    expect(capa.status).toMatch(/^\+OK/);
    expect(capa.lines).toEqual(expect.arrayContaining(['TOP', 'UIDL', 'USER', 'SASL PLAIN', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING']));
    expect(capa.lines).not.toContain('STLS'); // no TLS configured
    expect(await client.login(ALICE)).toMatch(/^\+OK .*0 messages/);
    const after = await client.multiline('CAPA');
    expect(after.lines).not.toContain('USER');
    expect(await client.quit()).toMatch(/^\+OK/);
    expect(fixture.logLines.join('\n')).not.toContain(ALICE.password);
  });

  it('takes USER/PASS as UTF-8 and PASS with spaces', async () => {
    const client = await open();
    expect(await client.login(CAROL)).toMatch(/^\+OK/);
    await client.quit();
  });

  it('STAT, LIST, UIDL, RETR (byte-stuffed) and TOP', async () => {
    await fixture.store.deliver(ALICE.address, bytes('Subject: one\r\n\r\nfirst\r\n'));
    await fixture.store.deliver(ALICE.address, bytes(STUFFED));
    await fixture.store.deliver(BOB.address, bytes('Subject: not yours\r\n\r\n'));
    const client = await open();
    await client.login(ALICE);
    const sizes = (await fixture.store.list(ALICE.address)).map((m) => m.size);
    expect(await client.command('STAT')).toBe(`+OK 2 ${sizes[0]! + sizes[1]!}`);
    expect((await client.multiline('LIST')).lines).toEqual([`1 ${sizes[0]}`, `2 ${sizes[1]}`]);
    expect(await client.command('LIST 2')).toBe(`+OK 2 ${sizes[1]}`);
    const uidl = await client.multiline('UIDL');
    expect(uidl.lines).toHaveLength(2);
    for (const line of uidl.lines) expect(line).toMatch(/^[12] [\x21-\x7e]{1,70}$/);
    const retr = await client.multiline('RETR 2');
    expect(retr.status).toBe(`+OK ${sizes[1]} octets`);
    expect(retr.lines).toEqual(['Subject: dots', '', '..leading dot', '...two dots', '..', 'normal']);
    expect((await client.multiline('TOP 2 1')).lines).toEqual(['Subject: dots', '', '..leading dot']);
    expect((await client.multiline('TOP 1 0')).lines).toEqual(['Subject: one', '']);
    expect(await client.command('NOOP')).toBe('+OK');
    await client.quit();
  });

  it('streams a large message unchanged', async () => {
    const line = `${'x'.repeat(76)}\r\n`;
    const big = `Subject: big\r\n\r\n${line.repeat(40_000)}`; // ~3 MB
    await fixture.store.deliver(ALICE.address, bytes(big));
    const client = await open();
    await client.login(ALICE);
    const retr = await client.multiline('RETR 1');
    expect(`${retr.lines.join('\r\n')}\r\n`).toBe(big);
    await client.quit();
  });

  it('DELE then a dropped connection keeps the message; DELE then QUIT removes it', async () => {
    const id = await fixture.store.deliver(ALICE.address, bytes('Subject: keep me\r\n\r\n'));
    const first = await open();
    await first.login(ALICE);
    expect(await first.command('DELE 1')).toMatch(/^\+OK/);
    expect(await first.command('STAT')).toBe('+OK 0 0');
    first.destroy();
    await first.closed;
    expect((await fixture.store.list(ALICE.address)).map((m) => m.id)).toEqual([id]);

    // The lock went with the dropped connection: a new session gets in at once.
    const second = await open();
    expect(await second.login(ALICE)).toMatch(/^\+OK .*, 1 message \(/);
    expect(await second.command('DELE 1')).toMatch(/^\+OK/);
    expect(await second.command('DELE 1')).toBe('-ERR message 1 already deleted');
    expect(await second.quit()).toMatch(/^\+OK .*\(1 message deleted\)/);
    expect(await fixture.store.list(ALICE.address)).toEqual([]);
  });

  it('RSET unmarks deleted messages', async () => {
    await fixture.store.deliver(ALICE.address, bytes('a'));
    await fixture.store.deliver(ALICE.address, bytes('bb'));
    const client = await open();
    await client.login(ALICE);
    await client.command('DELE 1');
    await client.command('DELE 2');
    expect(await client.command('LIST 1')).toBe('-ERR message 1 already deleted');
    expect(await client.command('RSET')).toBe('+OK 2 messages');
    expect(await client.command('STAT')).toBe('+OK 2 3');
    await client.quit();
    expect((await fixture.store.list(ALICE.address)).length).toBe(2);
  });

  it('refuses a second session on a locked mailbox with [IN-USE]', async () => {
    await fixture.store.deliver(ALICE.address, bytes('x'));
    const first = await open();
    expect(await first.login(ALICE)).toMatch(/^\+OK/);
    const second = await open();
    expect(await second.login(ALICE)).toMatch(/^-ERR \[IN-USE\]/);
    // Still in AUTHORIZATION: other users may log in on that connection.
    expect(await second.login(BOB)).toMatch(/^\+OK/);
    await second.quit();
    await first.quit();
    const third = await open();
    expect(await third.login(ALICE)).toMatch(/^\+OK/);
    await third.quit();
  });

  it('keeps UIDLs stable across sessions and deletions', async () => {
    for (const n of [1, 2, 3]) await fixture.store.deliver(ALICE.address, bytes(`message ${n}`));
    const first = await open();
    await first.login(ALICE);
    const before = (await first.multiline('UIDL')).lines.map((line) => line.split(' ')[1]);
    await first.command('DELE 1');
    await first.quit();
    const second = await open();
    await second.login(ALICE);
    const after = (await second.multiline('UIDL')).lines.map((line) => line.split(' ')[1]);
    expect(after).toEqual(before.slice(1));
    await second.quit();
  });

  it('answers bad commands with -ERR and keeps going', async () => {
    await fixture.store.deliver(ALICE.address, bytes('x'));
    const client = await open();
    expect(await client.command('STAT')).toBe('-ERR not allowed before login');
    expect(await client.command('FROB')).toBe('-ERR unknown command');
    expect(await client.command('')).toBe('-ERR unknown command');
    expect(await client.command('PASS nothing')).toBe('-ERR send USER first');
    expect(await client.command('APOP a b')).toMatch(/^-ERR/);
    await client.login(ALICE);
    for (const command of ['RETR 0', 'RETR -1', 'RETR abc', 'RETR 99999999999', 'RETR', 'TOP 1', 'TOP 1 x', 'DELE', 'LIST 1 2', 'STAT x', 'USER x']) {
      expect(await client.command(command), command).toMatch(/^-ERR/);
    }
    expect(await client.command('RETR 2')).toBe('-ERR no such message');
    expect(await client.command('retr 1')).toMatch(/^\+OK/); // keywords are case-insensitive
    await client.readBody();
    await client.command('\u0000\u00ff\u0007 binary junk');
    await client.quit();
  });

  it('rejects an over-long command line and carries on', async () => {
    const client = await open();
    expect(await client.command(`USER ${'a'.repeat(300)}`)).toBe('-ERR line too long');
    client.write(`NOOP ${'b'.repeat(100_000)}`);
    client.write('\r\n');
    expect(await client.readLine()).toBe('-ERR line too long');
    expect(await client.login(ALICE)).toMatch(/^\+OK/);
    await client.quit();
  });

  it('closes the connection after too many bad commands', async () => {
    const client = await open();
    const replies: string[] = [];
    client.write('FROB\r\n'.repeat(25));
    for (;;) {
      try {
        replies.push(await client.readLine());
      } catch {
        break;
      }
    }
    expect(replies.length).toBeLessThanOrEqual(21);
    expect(replies.at(-1)).toMatch(/too many bad commands/);
    await client.closed;
  });

  it('answers pipelined commands in order (RFC 2449 PIPELINING)', async () => {
    await fixture.store.deliver(ALICE.address, bytes('Subject: p\r\n\r\nbody\r\n'));
    const client = await open();
    client.write(`USER ${ALICE.address}\r\nPASS ${ALICE.password}\r\nSTAT\r\nRETR 1\r\nNOOP\r\nQUIT\r\n`);
    expect(await client.readLine()).toMatch(/^\+OK/);
    expect(await client.readLine()).toMatch(/^\+OK maildrop/);
    expect(await client.readLine()).toMatch(/^\+OK 1 /);
    expect(await client.readLine()).toMatch(/^\+OK/);
    expect(await client.readBody()).toEqual(['Subject: p', '', 'body']);
    expect(await client.readLine()).toBe('+OK');
    expect(await client.readLine()).toMatch(/^\+OK/);
    await client.closed;
  });

  it('AUTH PLAIN with an initial response, with a continuation, and cancelled', async () => {
    const plain = (authzid: string, user: string, password: string): string => Buffer.from(`${authzid}\0${user}\0${password}`).toString('base64');
    const first = await open();
    expect(await first.command('AUTH PLAIN')).toBe('+ ');
    expect(await first.command('*')).toMatch(/^-ERR \[AUTH\] authentication cancelled/);
    expect(await first.command('AUTH PLAIN')).toBe('+ ');
    expect(await first.command(plain('', ALICE.address, ALICE.password))).toMatch(/^\+OK/);
    await first.quit();
    const second = await open();
    expect(await second.command('AUTH PLAIN !!!')).toMatch(/^-ERR \[AUTH\] invalid base64/);
    expect(await second.command(`AUTH PLAIN ${plain(BOB.address, ALICE.address, ALICE.password)}`)).toMatch(/^-ERR \[AUTH\]/);
    expect(await second.command('AUTH CRAM-MD5')).toMatch(/^-ERR unsupported/);
    expect(await second.command('AUTH PLAIN')).toBe('+ ');
    expect(await second.command('A'.repeat(5000))).toBe('-ERR line too long');
    expect(await second.command('NOOP')).toBe('-ERR not allowed before login'); // a command again, not a SASL response
    expect(await second.command(`AUTH PLAIN ${plain(ALICE.address, ALICE.address, ALICE.password)}`)).toMatch(/^\+OK/);
    await second.quit();
  });

  it('closes the connection after 3 failed logins', async () => {
    const client = await open();
    expect(await client.login({ address: ALICE.address, password: 'wrong1' })).toBe('-ERR [AUTH] invalid user name or password');
    expect(await client.login({ address: 'nobody@example.test', password: 'wrong2' })).toBe('-ERR [AUTH] invalid user name or password');
    expect(await client.login({ address: ALICE.address, password: 'wrong3' })).toMatch(/^-ERR \[AUTH\] .*closing/);
    await client.closed;
    expect(fixture.logLines.join('\n')).not.toMatch(/wrong[123]/);
  });

  it('refuses, then closes, a login beyond the attempts one client may have in flight', async () => {
    await fixture.close();
    const held: (() => void)[] = [];
    fixture = await startFixture({ throttle: { freeFailures: 0, maxPendingPerClient: 1 }, sleep: () => new Promise<void>((resolve) => held.push(resolve)) });
    const first = await open();
    expect(await first.login({ address: ALICE.address, password: 'bad' })).toMatch(/^-ERR \[AUTH\]/);
    first.write(`USER ${ALICE.address}\r\nPASS bad again\r\n`); // penalised: waits before it is checked
    await waitFor(() => held.length === 1, 'the second guess waiting');
    const second = await open();
    expect(await second.login(ALICE)).toMatch(/^-ERR \[SYS\/TEMP\] too many login attempts/);
    await second.closed;
    for (const release of held.splice(0)) release();
  });

  it('ends an idle session without UPDATE (RFC 1939 §3 autologout)', async () => {
    await fixture.close();
    fixture = await startFixture({ limits: { idleTimeoutMs: 1000 } });
    await fixture.store.deliver(ALICE.address, bytes('x'));
    const client = await open();
    client.write(`USER ${ALICE.address}\r\nPASS ${ALICE.password}\r\nDELE 1\r\n`);
    const replies: string[] = [];
    for (;;) {
      try {
        replies.push(await client.readLine());
      } catch {
        break; // closed by the server
      }
    }
    expect(replies.at(-1)).toMatch(/^-ERR autologout/);
    expect((await fixture.store.list(ALICE.address)).length).toBe(1);
  });

  it('limits concurrent connections', async () => {
    await fixture.close();
    fixture = await startFixture({ limits: { maxConnections: 1 } });
    const first = await open();
    const second = await RawClient.connect(fixture);
    clients.push(second);
    expect(await second.readLine()).toMatch(/^-ERR \[SYS\/TEMP\] too many connections/);
    await second.closed;
    expect(await first.command('CAPA')).toMatch(/^\+OK/);
  });

  it('survives random bytes in every state (deterministic fuzz)', async () => {
    await fixture.store.deliver(ALICE.address, bytes('Subject: fuzz\r\n\r\nx\r\n'));
    let seed = 0x5eed;
    const random = (): number => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const keywords = ['USER', 'PASS', 'AUTH', 'STLS', 'CAPA', 'STAT', 'LIST', 'UIDL', 'RETR', 'TOP', 'DELE', 'RSET', 'NOOP', 'APOP', '', '+', '*'];
    for (let round = 0; round < 20; round += 1) {
      const client = await open();
      if (round % 2 === 0) await client.login(ALICE);
      const junk: Buffer[] = [];
      for (let command = 0; command < 30; command += 1) {
        const keyword = keywords[Math.floor(random() * keywords.length)] ?? '';
        const noise = Buffer.from(Array.from({ length: Math.floor(random() * 40) }, () => Math.floor(random() * 256)).filter((byte) => byte !== 0x0a));
        junk.push(Buffer.from(`${keyword} `), noise, Buffer.from(random() < 0.2 ? '\n' : '\r\n'));
      }
      client.write(Buffer.concat(junk));
      // The first QUIT may be taken as an AUTH PLAIN response; the second one then ends the session.
      client.write('\r\nQUIT\r\nQUIT\r\n');
      await client.closed;
    }
    // The server is still serving and the mailbox is not stuck locked.
    const check = await open();
    expect(await check.login(ALICE)).toMatch(/^\+OK/);
    await check.quit();
  });

  it('close() ends open sessions and releases their locks', async () => {
    const client = await open();
    await client.login(ALICE);
    await fixture.server.close();
    await client.closed;
    const lock = await fixture.store.lock(ALICE.address);
    expect(lock).toBeDefined();
    await lock?.release();
  });
});
