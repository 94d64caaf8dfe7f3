/**
 * Every process the harness starts goes through a `Processes`: each child gets its own process group
 * (so Thunderbird's content processes go down with it) and a marker variable in its environment, so
 * `leftovers()` can find anything still running from this run in /proc, whoever its parent is.
 */
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { openSync, closeSync, readdirSync, readFileSync } from 'node:fs';

export const MARKER_VARIABLE = 'SIGILL_E2E_MARKER';

export interface Started {
  name: string;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) once the process has exited. */
  exited: Promise<number | string>;
}

export interface StartOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  /** stdout and stderr go to this file (appended); otherwise they are ignored unless `pipeStdout`. */
  logFile?: string;
  /** Keep stdout as a pipe (to read a ready line), stderr still goes to `logFile`. */
  pipeStdout?: boolean;
  /** Extra pipes after stdin/stdout/stderr, e.g. 1 for Xvfb's -displayfd 3. */
  extraPipes?: number;
}

/** Every group still running when this Node process exits is killed, even if nobody called stop. */
const running = new Set<number>();
process.once('exit', () => {
  for (const pid of running) signalGroup(pid, 'SIGKILL');
});

export class Processes {
  private readonly started: Started[] = [];

  /** `marker` identifies this run: every process started here, and its children, carries it. */
  constructor(readonly marker: string) {}

  start(name: string, command: string, args: string[], options: StartOptions = {}): Started {
    const log = options.logFile === undefined ? 'ignore' : openSync(options.logFile, 'a');
    const stdio: SpawnOptions['stdio'] = [
      'ignore',
      options.pipeStdout ? 'pipe' : log,
      log,
      ...Array.from({ length: options.extraPipes ?? 0 }, () => 'pipe' as const),
    ];
    const child = spawn(command, args, {
      cwd: options.cwd,
      env: { ...(options.env ?? process.env), [MARKER_VARIABLE]: this.marker },
      stdio,
      detached: true, // its own process group: stop() signals the whole group
    });
    if (typeof log === 'number') closeSync(log);
    const pid = child.pid;
    if (pid !== undefined) running.add(pid);
    const exited = new Promise<number | string>((resolve) => {
      child.once('exit', (code, signal) => {
        // Leave the pid in `running` until stop(): the group may outlive its leader.
        resolve(code ?? signal ?? 'unknown');
      });
      child.once('error', (error) => resolve(`spawn error: ${error.message}`));
    });
    const started = { name, child, exited };
    this.started.push(started);
    return started;
  }

  /** SIGTERM to the process group, SIGKILL after `graceMs`; resolves once the leader has exited. */
  async stop(started: Started, graceMs = 10_000): Promise<void> {
    const pid = started.child.pid;
    if (pid === undefined) return;
    if (started.child.exitCode === null && started.child.signalCode === null) signalGroup(pid, 'SIGTERM');
    // The grace timer is cleared once the process is gone: a pending timer keeps Node's event loop
    // alive, and `sigill demo` would linger for the whole grace period after "Stopped everything.".
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => (timer = setTimeout(resolve, graceMs, 'timeout')));
    try {
      if ((await Promise.race([started.exited, timeout])) === 'timeout') {
        signalGroup(pid, 'SIGKILL');
        await started.exited;
      }
    } finally {
      clearTimeout(timer);
    }
    // Children that outlived their leader (they keep the group id).
    signalGroup(pid, 'SIGKILL');
    running.delete(pid);
  }

  /** Stops everything still running, newest first; then kills anything left that carries the marker. */
  async stopAll(): Promise<void> {
    for (const started of [...this.started].reverse()) await this.stop(started);
    for (const pid of this.leftovers()) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }

  /** Pids of live processes carrying this run's marker (zombies excluded). */
  leftovers(): number[] {
    return processesWithMarker(this.marker);
  }
}

function signalGroup(pid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/** Scans /proc for live processes whose environment holds `SIGILL_E2E_MARKER=<marker>`. */
export function processesWithMarker(marker: string): number[] {
  const needle = `${MARKER_VARIABLE}=${marker}\0`;
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry) || Number(entry) === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      if (/\) [ZX] /.test(stat)) continue; // zombie or dead: not running
      if (`${readFileSync(`/proc/${entry}/environ`, 'latin1')}\0`.includes(needle)) found.push(Number(entry));
    } catch {
      // exited meanwhile, or not ours to read
    }
  }
  return found;
}
