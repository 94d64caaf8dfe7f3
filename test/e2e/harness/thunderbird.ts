/**
 * Runs one Thunderbird on a profile: under its own Xvfb by default (so a screenshot shows that
 * Thunderbird alone), or `--headless` when SIGILL_E2E_HEADLESS=1 (then the driver draws screenshots).
 */
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Processes, Started } from '../../../src/testbed/processes.ts';
import { thunderbirdBinary } from './paths.ts';

export const headless = process.env.SIGILL_E2E_HEADLESS === '1';

export interface Display {
  name: string;
  process: Started;
}

/** Starts `Xvfb -displayfd 3` and resolves with the display it chose (e.g. ":5"). */
export async function startXvfb(processes: Processes, logFile: string): Promise<Display> {
  const started = processes.start('Xvfb', 'Xvfb', ['-displayfd', '3', '-screen', '0', '1280x1024x24', '-nolisten', 'tcp'], {
    logFile,
    extraPipes: 1,
  });
  const pipe = started.child.stdio[3];
  if (pipe === null || pipe === undefined || !('on' in pipe)) throw new Error('Xvfb: no display pipe');
  const name = await new Promise<string>((resolve, reject) => {
    let text = '';
    const timer = setTimeout(() => reject(new Error('Xvfb did not report a display within 30 s')), 30_000);
    pipe.on('data', (chunk: Buffer) => {
      text += chunk.toString();
      if (text.includes('\n')) {
        clearTimeout(timer);
        resolve(`:${text.trim()}`);
      }
    });
    void started.exited.then((code) => reject(new Error(`Xvfb exited (${code}); see ${logFile}`)));
  });
  return { name, process: started };
}

export interface ThunderbirdOptions {
  profileDir: string;
  /** A scratch HOME, so nothing of the real user's is read or written. */
  home: string;
  /**
   * Thunderbird's temporary directory (TMPDIR, Gecko's TmpD), default `<home>/tmp`: Thunderbirds sharing
   * /tmp share names like nsemail.eml (the message being sent), and one deleted another's mid-send.
   */
  tmpDir?: string;
  /** stdout + stderr (the console, with devtools.console.stdout.*) go here. */
  logFile: string;
  binary?: string;
  /** Extra environment variables for this Thunderbird (e.g. the Gecko profiler's MOZ_PROFILER_*); they win over the harness's own. */
  env?: Record<string, string>;
}

export class Thunderbird {
  private constructor(
    readonly options: ThunderbirdOptions,
    readonly process: Started,
    readonly display: Display | undefined,
    private readonly processes: Processes,
    /** Its TMPDIR (see ThunderbirdOptions.tmpDir). */
    readonly tmpDir: string,
  ) {}

  static async launch(processes: Processes, options: ThunderbirdOptions): Promise<Thunderbird> {
    mkdirSync(options.home, { recursive: true });
    const tmpDir = options.tmpDir ?? join(options.home, 'tmp');
    mkdirSync(tmpDir, { recursive: true });
    const display = headless ? undefined : await startXvfb(processes, `${options.logFile.replace(/\.log$/, '')}-xvfb.log`);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      HOME: options.home,
      TMPDIR: tmpDir,
      XDG_CONFIG_HOME: join(options.home, '.config'),
      XDG_CACHE_HOME: join(options.home, '.cache'),
      MOZ_CRASHREPORTER_DISABLE: '1',
      MOZ_DISABLE_AUTO_SAFE_MODE: '1',
      // No session bus: GTK would otherwise autolaunch a dbus-daemon that outlives Thunderbird.
      DBUS_SESSION_BUS_ADDRESS: 'unix:path=/nonexistent/bus',
      ...options.env,
    };
    if (display) env.DISPLAY = display.name;
    else {
      delete env.DISPLAY;
      env.MOZ_HEADLESS = '1';
    }
    const args = ['--profile', options.profileDir, '--no-remote', ...(headless ? ['--headless'] : [])];
    const started = processes.start('thunderbird', options.binary ?? thunderbirdBinary(), args, { env, logFile: options.logFile });
    return new Thunderbird(options, started, display, processes, tmpDir);
  }

  /** The console output so far. */
  console(): string {
    try {
      return readFileSync(this.options.logFile, 'utf8');
    } catch {
      return '';
    }
  }

  /**
   * Saves a PNG of the whole (virtual) screen; returns false when headless. A screen of one colour
   * (nothing painted yet) is taken again for up to 15 s.
   */
  async screenshot(file: string): Promise<boolean> {
    if (!this.display) return false;
    const deadline = Date.now() + 15_000;
    for (;;) {
      execFileSync('import', ['-display', this.display.name, '-window', 'root', file], { timeout: 30_000 });
      const colours = Number(execFileSync('identify', ['-format', '%k', file], { encoding: 'utf8', timeout: 30_000 }));
      if (colours > 1 || Date.now() > deadline) return true;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }

  /** Asks Thunderbird to quit (SIGTERM), kills it after a grace period, then its display. */
  async stop(): Promise<void> {
    await this.processes.stop(this.process, 15_000);
    if (this.display) await this.processes.stop(this.display.process, 5_000);
  }
}
