// Scenario: Sigill's PGP/MIME Experiment (extension/experiments/pgpmime) in a real Thunderbird. The
// built dist/sigill.xpi loads it (the background asks whether PGP/MIME can be sent) with no error or
// warning in the console attributable to Sigill.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually, sigillConsoleProblems, World } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';

describeWithTools(e2eTools(), 'e2e: the PGP/MIME Experiment', () => {
  let world: World | undefined;

  beforeAll(async () => {
    world = await World.start('pgp-mime', { relay: false });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('loads with Sigill and finds the send pipeline it needs (nsIMsgComposeSecure), without console problems', async () => {
    if (!world) throw new Error('no world');
    const alice = await world.launch('alice');
    await eventually(() => /sigill: PGP\/MIME (available|not available.*)/.test(alice.console()), 60_000, "Sigill's PGP/MIME line");
    const line = /sigill: PGP\/MIME [^"\n]*/.exec(alice.console())?.[0];
    expect(line).toBe('sigill: PGP/MIME available');
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('leaves nothing running', async () => {
    expect(await world?.stop()).toEqual([]);
  });
});
