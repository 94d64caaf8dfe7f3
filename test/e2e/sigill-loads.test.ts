// Scenario: the built Sigill .xpi loads in a real Thunderbird, its background starts, and the console
// shows no error or warning attributable to it.
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeWithTools } from '../support/tools.ts';
import { e2eTools, eventually, sigillConsoleProblems, World } from './harness/index.ts';
import { sigillId } from './harness/paths.ts';
import { extensionUuids } from '../../src/testbed/profile.ts';

describeWithTools(e2eTools(), 'e2e: Sigill loads in Thunderbird', () => {
  let world: World | undefined;

  beforeAll(async () => {
    world = await World.start('sigill-loads', { relay: false });
  });

  afterAll(async () => {
    await world?.stop();
  });

  it('starts its background with no error in the console', async () => {
    if (!world) throw new Error('no world');
    const alice = await world.launch('alice');
    await eventually(() => alice.console().includes('sigill: background started'), 60_000, "Sigill's startup line");
    expect(await alice.call('addonInfo', { addonId: sigillId })).toMatchObject({ id: sigillId, isActive: true, userDisabled: false });
    await alice.call('openAddonsManager', { addonId: sigillId });
    await new Promise((resolve) => setTimeout(resolve, 1500)); // let the page paint before the picture
    await alice.screenshot('addons-manager');
    expect(sigillConsoleProblems(alice.console(), extensionUuids[sigillId] ?? sigillId)).toEqual([]);
  });

  it('leaves nothing running', async () => {
    expect(await world?.stop()).toEqual([]);
  });
});
