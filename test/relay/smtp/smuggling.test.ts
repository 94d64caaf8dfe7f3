// SMUGGLE (docs/security.md): only CRLF.CRLF ends DATA. Every end-of-data look-alike with a bare CR or LF
// is sent whole and split byte by byte, followed by a complete second transaction hidden in the
// data. The relay must never see a second message: it answers the DATA with one 500 5.5.2 (bare
// CR/LF are rejected, like Postfix's smtpd_forbid_bare_newline) and stores nothing.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mailboxMessages, openSession, spoolEmpty, startTestRelay, waitFor, type Reply, type TestRelay } from '../helpers.ts';

const SEQUENCES: Record<string, string> = {
  'LF.LF': '\n.\n',
  'LF.CRLF': '\n.\r\n',
  'CRLF.LF': '\r\n.\n',
  'CR.CR': '\r.\r',
  'CRLF.CR': '\r\n.\r',
  'CR.CRLF': '\r.\r\n',
  'CRLF.CRCRLF': '\r\n.\r\r\n',
  'LF.CR': '\n.\r',
  'CRLF.CRCR': '\r\n.\r\r',
  'bare LF line': '\r\nfoo\nbar\r\n',
  'bare CR line': '\r\nfoo\rbar\r\n',
};

const SMUGGLED = 'MAIL FROM:<evil@example.net>\r\nRCPT TO:<bob@sigill.test>\r\nDATA\r\nSubject: smuggled\r\n\r\nsmuggled\r\n';

async function readUntilQuit(client: Awaited<ReturnType<typeof openSession>>): Promise<Reply[]> {
  const replies: Reply[] = [];
  for (;;) {
    const reply = await client.reply();
    replies.push(reply);
    if (reply.code === 221 || reply.code === 421) return replies;
  }
}

describe('SMTP smuggling: end-of-data variants', () => {
  let relay: TestRelay;
  beforeAll(async () => {
    relay = await startTestRelay();
  });
  afterAll(async () => {
    await relay?.stop();
  });

  for (const [name, sequence] of Object.entries(SEQUENCES)) {
    for (const mode of ['whole', 'byte by byte'] as const) {
      it(`${name} (${mode}) ends nothing and is refused`, async () => {
        const client = await openSession(relay.smtpPort);
        expect((await client.command('MAIL FROM:<sender@example.net>')).code).toBe(250);
        expect((await client.command('RCPT TO:<bob@sigill.test>')).code).toBe(250);
        expect((await client.command('DATA')).code).toBe(354);
        const payload = `Subject: outer\r\n\r\nouter body${sequence}${SMUGGLED}\r\n.\r\nQUIT\r\n`;
        if (mode === 'whole') await client.write(payload);
        else await client.writeBytewise(payload);
        const replies = await readUntilQuit(client);
        expect(replies.map((reply) => reply.text)).toEqual([expect.stringMatching(/^500 5\.5\.2 Error: bare <(LF|CR)> received/), expect.stringMatching(/^221 /)]);
        client.close();
        expect(await mailboxMessages(relay, 'bob@sigill.test')).toEqual([]);
        expect(await spoolEmpty(relay.dir)).toBe(true);
      });
    }
  }

  it('a clean message with a dot-stuffed line and CRLF.CRLF is accepted once, byte by byte', async () => {
    const client = await openSession(relay.smtpPort);
    await client.command('MAIL FROM:<sender@example.net>');
    await client.command('RCPT TO:<bob@sigill.test>');
    await client.command('DATA');
    await client.writeBytewise('Subject: clean\r\n\r\n..not the end\r\n.\r\nQUIT\r\n');
    const replies = await readUntilQuit(client);
    expect(replies.map((reply) => reply.code)).toEqual([250, 221]);
    client.close();
    const messages = await waitFor(async () => {
      const list = await mailboxMessages(relay, 'bob@sigill.test');
      return list.length > 0 && list;
    }, 'delivery');
    expect(messages).toHaveLength(1);
    expect(messages[0]).toContain('\r\n.not the end\r\n');
  });
});
