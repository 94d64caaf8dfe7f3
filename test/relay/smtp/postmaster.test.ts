// RFC 5321 §4.5.1: "postmaster", domainless or at any of our domains and in any case, must be
// accepted; it goes to the configured postmaster's mailbox (default: the first user).
import { afterEach, describe, expect, it } from 'vitest';
import { mailboxMessages, openSession, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

describe('postmaster', () => {
  let relay: TestRelay | undefined;
  afterEach(async () => {
    await relay?.stop();
    relay = undefined;
  });

  const send = async (port: number, recipient: string, subject: string): Promise<number[]> => {
    const client = await openSession(port);
    const codes = [(await client.command('MAIL FROM:<someone@example.org>')).code, (await client.command(`RCPT TO:<${recipient}>`)).code];
    codes.push((await client.command('DATA')).code, (await client.command(`Subject: ${subject}\r\n\r\nhello\r\n.`)).code);
    client.close();
    return codes;
  };

  it('accepts <postmaster> and <PostMaster@domain> on the inbound listener and delivers to the first user', async () => {
    relay = await startTestRelay();
    expect(await send(relay.smtpPort, 'postmaster', 'to postmaster')).toEqual([250, 250, 354, 250]);
    expect(await send(relay.smtpPort, 'PostMaster@sigill.test', 'to PostMaster')).toEqual([250, 250, 354, 250]);
    const messages = await waitFor(async () => {
      const found = await mailboxMessages(relay!, 'alice@sigill.test');
      return found.length === 2 && found;
    }, 'both messages for the postmaster');
    expect(messages.some((message) => message.includes('Subject: to postmaster'))).toBe(true);
  });

  it('delivers to the configured postmaster', async () => {
    relay = await startTestRelay({ extraConfig: { postmaster: 'bob@sigill.test' } });
    expect(await send(relay.smtpPort, 'Postmaster', 'for bob')).toEqual([250, 250, 354, 250]);
    await waitFor(async () => (await mailboxMessages(relay!, 'bob@sigill.test')).length === 1, 'the message in bob\'s mailbox');
  });
});
