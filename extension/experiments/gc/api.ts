/**
 * The extension side of the gc Experiment (schema.json, child.js): a full garbage collection of the
 * extension process, installed as the core's GarbageCollector (src/core/platform.ts), which the read path
 * calls every 16 MiB of streamed data. Without the Experiment nothing is installed and the engine collects
 * when it will.
 */
import type { GarbageCollector } from '../../../src/core/index.ts';

/** `browser.sigillGc` as schema.json declares it: a synchronous call (child scope, in this process). */
export interface GcExperiment {
  /** Runs a full collection; answers how many milliseconds it took. */
  collect(): number;
}

/** The Experiment's API in this extension context, or undefined where it is not declared. */
export function gcExperiment(scope: object = globalThis): GcExperiment | undefined {
  const holder = scope as { browser?: { sigillGc?: GcExperiment }; messenger?: { sigillGc?: GcExperiment } };
  return holder.messenger?.sigillGc ?? holder.browser?.sigillGc;
}

/** The collector to install, or undefined without the Experiment; it never throws (a failed collection costs memory, not the read). */
export function experimentCollector(experiment = gcExperiment()): GarbageCollector | undefined {
  if (experiment === undefined) return undefined;
  return () => {
    try {
      experiment.collect();
    } catch {
      /* the engine collects when it will */
    }
  };
}
