// The console check of the "Sigill loads" scenario, on lines of the kinds Thunderbird really prints.
import { expect, it } from 'vitest';
import { sigillConsoleProblems } from './index.ts';

const uuid = '5161c111-0000-4000-8000-000000000001';

it('finds errors and warnings attributable to Sigill, and only those', () => {
  const log = [
    'console.info: "sigill: background started (version 0.1.0)"',
    `JavaScript error: moz-extension://${uuid}/background/background.js, line 1: TypeError: x is undefined`,
    'console.error: "sigill: could not read the keyring"',
    '1764167000000\taddons.xpi\tWARN\tAdd-on sigill@sigill.dev is not correctly signed.',
    'console.error: Region.sys.mjs: "Error fetching region" (new TypeError("NetworkError when attempting to fetch resource.", ""))',
    'JavaScript error: moz-extension://5161c111-0000-4000-8000-000000000002/background.js, line 3: Error: driver',
    'console.warn: "sigill-e2e: getNewMessages(account1) ended with status 1"',
  ].join('\n');
  expect(sigillConsoleProblems(log, uuid)).toEqual([
    `JavaScript error: moz-extension://${uuid}/background/background.js, line 1: TypeError: x is undefined`,
    'console.error: "sigill: could not read the keyring"',
    '1764167000000\taddons.xpi\tWARN\tAdd-on sigill@sigill.dev is not correctly signed.',
  ]);
});
