// Sigill's third privileged part: a garbage collection of the extension process, on request.
//
// Reading a large encrypted message makes a few short-lived arrays per chunk (the mail's windows, armor
// output, AES-CFB output, decoded base64); SpiderMonkey paces its own collections by heap growth and falls
// behind them, so the extension process held 70–160 MiB of garbage at the peak of a 50 MiB read
// (docs/architecture.md, "Memory in Thunderbird"). A WebExtension cannot ask for a collection; this
// Experiment runs in the extension process itself (a child API, scope addon_child: the call is synchronous
// and never leaves the process) and runs one there when the read path asks, every few MiB of data
// (src/core/platform.ts, noteStreamedBytes). It reads and changes nothing else.
/* global Components, ExtensionCommon */
'use strict';

this.sigillGc = class extends ExtensionCommon.ExtensionAPI {
  getAPI() {
    return {
      sigillGc: {
        collect() {
          const started = Date.now();
          // A full, non-incremental collection of this process's JavaScript runtime (nsXPCComponents_Utils::ForceGC).
          Components.utils.forceGC();
          return Date.now() - started;
        },
      },
    };
  }
};
