// Scenario: alice's Thunderbird (with Sigill) sends a plain message through the relay; the relay's HTTP
// view shows it as stored; bob's Thunderbird fetches it over POP3 and opens it.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually, type Client, type SendResult, World } from './harness/index.ts';

describeWithTools(e2eTools(), 'e2e: alice sends to bob through the relay', () => {
  let world: World;
  let alice: Client;
  let bob: Client;
  let sent: SendResult;
  const nonce = randomBytes(4).toString('hex');
  const subject = `Hello Bob ${nonce}`;
  const body = `A plain message through the relay, ${nonce}.`;

  beforeAll(async () => {
    world = await World.start('alice-to-bob');
    [alice, bob] = await Promise.all([world.launch('alice'), world.launch('bob')]);
  });

  afterAll(async () => {
    await world?.stop();
  });

  it("alice's Thunderbird sends through the relay's submission port", async () => {
    sent = await alice.send({ to: [bob.user.address], subject, body });
    expect(sent.headerMessageId).toMatch(/@/);
    await alice.screenshot('sent');
  });

  it("the relay's HTTP view shows the stored message", async () => {
    const address = bob.user.address;
    await eventually(async () => (await world.relay.messages(address)).length > 0, 60_000, `a message in ${address}'s mailbox`);
    expect(await world.relay.mailboxes()).toContainEqual(expect.objectContaining({ address, messages: 1 }));
    const [stored] = await world.relay.messages(address);
    if (!stored) throw new Error('no stored message');
    const raw = (await world.relay.raw(address, stored.id)).toString('utf8');
    expect(raw).toContain(`Subject: ${subject}`);
    expect(raw).toContain(body);
    expect(raw).toContain(sent.headerMessageId);
    expect(await world.relay.page(address, stored.id)).toContain(subject);
  });

  it("bob's Thunderbird receives it over POP3 and opens it", async () => {
    const header = await bob.receive({ headerMessageId: sent.headerMessageId });
    await bob.open(header.id);
    const full = await bob.getFull(header.id);
    expect(full.subject).toBe(subject);
    expect(full.text).toContain(body);
    expect(header.author).toContain(alice.user.address);
    expect(await bob.getRaw(header.id)).toContain(`Message-ID: <${sent.headerMessageId}>`);
    await new Promise((resolve) => setTimeout(resolve, 1000)); // let the tab paint before the picture
    await bob.screenshot('received');
  });

  it('leaves nothing running', async () => {
    expect(await world.stop()).toEqual([]);
  });
});
