/**
 * Memory of a running Thunderbird, for the benches: every process in its process group (Thunderbird is
 * started as a group leader and Gecko's children stay in it), sampled from /proc every 100 ms while an
 * operation runs. Linux only, as the harness is.
 */
import { readdirSync, readFileSync } from 'node:fs';

export interface ProcessSample {
  pid: number;
  role: string;
  rssKb: number;
  hwmKb: number;
}

/**
 * The role of a Thunderbird process: 'parent', or the name Gecko gives its child (/proc/<pid>/comm:
 * "WebExtensions" is the extension process where Sigill's background runs, "Web Content", "Socket Process",
 * "Utility Process", ...).
 */
function roleOf(pid: number): string {
  const args = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
  if (!args.includes('-contentproc')) return 'parent';
  return readFileSync(`/proc/${pid}/comm`, 'utf8').trim() || 'child';
}

/** Every process in the group (Thunderbird is started as a group leader; Gecko's children stay in it). */
function sampleGroup(pgid: number): ProcessSample[] {
  const samples: ProcessSample[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
      if (Number(fields[2]) !== pgid) continue;
      const status = readFileSync(`/proc/${pid}/status`, 'utf8');
      // Read every time: a preallocated content process gets its name when it is given a role.
      const role = roleOf(pid);
      samples.push({ pid, role, rssKb: Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0), hwmKb: Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) });
    } catch {
      // the process ended meanwhile
    }
  }
  return samples;
}

export interface Peaks {
  beforeTotalKb: number;
  peakTotalKb: number;
  /** Per role: resident memory before and at its own peak (roles with several processes are summed). */
  roles: Record<string, { beforeKb: number; peakKb: number; hwmKb: number }>;
  ms: number;
  /** Every sample: milliseconds since the start and resident memory per role, to see when a peak comes. */
  timeline: Array<{ ms: number; roles: Record<string, number> }>;
}

/** Samples the Thunderbird whose main process is `pgid` every 100 ms while `operation` runs. */
export async function measureMemory(pgid: number, operation: () => Promise<void>): Promise<Peaks> {
  const byRole = (samples: ProcessSample[]): Record<string, { rssKb: number; hwmKb: number }> => {
    const out: Record<string, { rssKb: number; hwmKb: number }> = {};
    for (const sample of samples) {
      const entry = (out[sample.role] ??= { rssKb: 0, hwmKb: 0 });
      entry.rssKb += sample.rssKb;
      entry.hwmKb = Math.max(entry.hwmKb, sample.hwmKb);
    }
    return out;
  };
  const first = sampleGroup(pgid);
  const peaks: Peaks = { beforeTotalKb: 0, peakTotalKb: 0, roles: {}, ms: 0, timeline: [] };
  let started = performance.now();
  for (const [role, { rssKb, hwmKb }] of Object.entries(byRole(first))) peaks.roles[role] = { beforeKb: rssKb, peakKb: rssKb, hwmKb };
  peaks.beforeTotalKb = first.reduce((sum, sample) => sum + sample.rssKb, 0);
  peaks.peakTotalKb = peaks.beforeTotalKb;
  const sample = (): void => {
    const now = sampleGroup(pgid);
    peaks.peakTotalKb = Math.max(peaks.peakTotalKb, now.reduce((sum, item) => sum + item.rssKb, 0));
    const roles: Record<string, number> = {};
    peaks.timeline.push({ ms: performance.now() - started, roles });
    for (const [role, { rssKb, hwmKb }] of Object.entries(byRole(now))) {
      roles[role] = rssKb;
      const entry = (peaks.roles[role] ??= { beforeKb: 0, peakKb: 0, hwmKb: 0 });
      entry.peakKb = Math.max(entry.peakKb, rssKb);
      entry.hwmKb = Math.max(entry.hwmKb, hwmKb);
    }
  };
  const timer = setInterval(sample, 100);
  started = performance.now();
  try {
    await operation();
  } finally {
    clearInterval(timer);
    sample();
  }
  peaks.ms = performance.now() - started;
  return peaks;
}
