// The extension side of the gc Experiment (extension/experiments/gc/api.ts) over Node stand-ins for the
// Experiment (named so: the real one needs Thunderbird's extension process; bench/memory-in-thunderbird.ts
// shows what it saves). Without the Experiment nothing is installed; a failing collection never reaches the read.
import { describe, expect, it } from 'vitest';
import { experimentCollector, gcExperiment, type GcExperiment } from '../../../../extension/experiments/gc/api.ts';

describe('the gc Experiment as the core garbage collector', () => {
  it('collects through the Experiment, synchronously', () => {
    let collections = 0;
    const collector = experimentCollector({ collect: () => ++collections });
    collector?.();
    collector?.();
    expect(collections).toBe(2);
  });

  it('nothing to install without the Experiment; a failing one never throws', () => {
    expect(experimentCollector(undefined)).toBeUndefined();
    const failing = experimentCollector({
      collect: () => {
        throw new Error('Components.utils is not defined');
      },
    });
    expect(() => failing?.()).not.toThrow();
  });

  it('finds the API as messenger.* or browser.*, and nothing where it is not declared', () => {
    const api: GcExperiment = { collect: () => 0 };
    expect(gcExperiment({ messenger: { sigillGc: api } })).toBe(api);
    expect(gcExperiment({ browser: { sigillGc: api } })).toBe(api);
    expect(gcExperiment({})).toBeUndefined();
  });
});
