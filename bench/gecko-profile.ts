/**
 * Summarizes a Gecko profiler file (the raw format `MOZ_PROFILER_SHUTDOWN` writes: the parent process's
 * threads, and the child processes' profiles in `processes`) for a set of wall-clock windows: per process,
 * the top functions by self time and by running time, and how the busy time splits into JavaScript,
 * WebAssembly, GC/CC and the rest (native code, Gecko's own work), as profiler categories and frames say.
 *
 * The raw format, as Gecko writes it (ProfileBufferEntry.cpp / ProfilerCodeAddressService): each thread has
 * `samples`, `stackTable` (prefix, frame), `frameTable` (location, relevantForJS, innerWindowID,
 * implementation, line, column, category, subcategory) and `stringTable`; a sample's time is in ms since its
 * own process's `meta.startTime` (ms since the epoch).
 */
import { readFileSync } from 'node:fs';

interface Schema {
  [column: string]: number;
}
interface Table {
  schema: Schema;
  data: unknown[][];
}
interface RawThread {
  name: string;
  processType?: string;
  processName?: string;
  pid?: number | string;
  tid?: number | string;
  samples: Table;
  stackTable: Table;
  frameTable: Table;
  stringTable: string[];
}
interface Library {
  start: number;
  end: number;
  offset: number;
  name: string;
}
interface RawProfile {
  libs?: Library[];
  meta: { startTime: number; interval: number; categories?: Array<{ name: string }>; processType?: number };
  threads: RawThread[];
  processes?: Array<RawProfile | string>;
}

/** A wall-clock span (Date.now values). */
export interface Window {
  start: number;
  end: number;
}

export interface FunctionTime {
  name: string;
  ms: number;
}

export interface ThreadSummary {
  process: string;
  thread: string;
  pid: string;
  /** Wall-clock time sampled inside the windows, ms. */
  wallMs: number;
  /** CPU time of the thread in those samples, ms. */
  cpuMs: number;
  /** CPU ms by the profiler category of each sample's innermost named frame (WebAssembly apart). */
  split: Record<string, number>;
  self: FunctionTime[];
  running: FunctionTime[];
}

/** Every thread of the profile with its process's start time (child profiles have their own). */
function threadsOf(profile: RawProfile): Array<{ thread: RawThread; startTime: number; categories: string[]; libs: Library[] }> {
  const categories = (profile.meta.categories ?? []).map((category) => category.name);
  const libs = profile.libs ?? [];
  const own = profile.threads.map((thread) => ({ thread, startTime: profile.meta.startTime, categories, libs }));
  const children = (profile.processes ?? []).flatMap((child) => threadsOf(typeof child === 'string' ? (JSON.parse(child) as RawProfile) : child));
  return [...own, ...children];
}

/**
 * A frame's name for the tables: JavaScript frames as Gecko writes them ("fn (url:line:col)") with the
 * moz-extension host cut to the file, labels as they come, native addresses as library+offset (Debian's
 * libxul carries no symbols: `readelf -S` shows no .symtab, `nm -D` three names).
 */
function frameName(location: string, libs: Library[]): string {
  if (/^0x[0-9a-f]+$/i.test(location)) {
    const address = Number.parseInt(location, 16);
    const lib = libs.find((candidate) => address >= candidate.start && address < candidate.end);
    return lib === undefined ? `native ${location}` : `${lib.name}+0x${(address - lib.start + lib.offset).toString(16)}`;
  }
  return location.replace(/moz-extension:\/\/[0-9a-f-]+\//g, '').replace(/\[\d+\]$/, '');
}

function isWasm(location: string): boolean {
  return /wasm-function\[|\.wasm\b|\(wasm\)/i.test(location);
}

/**
 * Summarizes one thread's samples inside the windows. Each sample counts the CPU time the thread used since
 * the one before (`threadCPUDelta`, ns), so a thread waiting for events counts nothing. Without symbols a
 * native address says little, so a sample's self time goes to its innermost named frame: a JavaScript
 * function (the interpreter's or JIT's native frames under it included), a WebAssembly function, or a label
 * Gecko puts on its own work (WebIDL methods such as `Blob.stream`, GC phases, event handling); the split
 * follows that frame's profiler category.
 */
function summarizeThread(thread: RawThread, startTime: number, categories: string[], libs: Library[], windows: Window[], top: number): ThreadSummary | undefined {
  const { samples, stackTable, frameTable, stringTable } = thread;
  const [sampleStack, sampleTime, sampleCpu] = [samples.schema.stack ?? 0, samples.schema.time ?? 1, samples.schema.threadCPUDelta];
  const [stackPrefix, stackFrame] = [stackTable.schema.prefix ?? 0, stackTable.schema.frame ?? 1];
  const [frameLocation, frameCategory] = [frameTable.schema.location ?? 0, frameTable.schema.category];
  const relative = windows.map((window) => ({ start: window.start - startTime, end: window.end - startTime }));
  const inside = (time: number): boolean => relative.some((window) => time >= window.start && time <= window.end);

  const location = (frame: number): string => stringTable[frameTable.data[frame]?.[frameLocation] as number] ?? `frame ${frame}`;
  const category = (frame: number): string | undefined => {
    const value = frameCategory === undefined ? undefined : frameTable.data[frame]?.[frameCategory];
    return typeof value === 'number' ? categories[value] : undefined;
  };

  const self = new Map<string, number>();
  const running = new Map<string, number>();
  const split: Record<string, number> = { JavaScript: 0, WebAssembly: 0, 'GC / CC': 0 };
  let [cpu, wall] = [0, 0];
  const rows = samples.data;
  for (let index = 0; index < rows.length; index += 1) {
    const row = rows[index] as unknown[];
    const time = row[sampleTime] as number;
    if (!inside(time)) continue;
    const previous = rows[index - 1]?.[sampleTime] as number | undefined;
    wall += previous === undefined ? 0 : Math.min(time - previous, 10);
    const delta = sampleCpu === undefined ? undefined : (row[sampleCpu] as number | null);
    // CPU time since the previous sample; without that column, the time since it (idle included).
    const weight = typeof delta === 'number' ? delta / 1e6 : previous === undefined ? 0 : Math.min(time - previous, 10);
    if (weight <= 0) continue;
    cpu += weight;
    let stack = row[sampleStack] as number | null;
    const seen = new Set<string>();
    let innermost: { name: string; kind: string } | undefined;
    let leafLibrary: string | undefined;
    while (stack !== null && stack !== undefined) {
      const entry = stackTable.data[stack] as unknown[];
      const frame = entry[stackFrame] as number;
      const where = location(frame);
      const name = frameName(where, libs);
      const named = !/^0x[0-9a-f]+$/i.test(where) && where !== '(root)';
      if (!named && leafLibrary === undefined) leafLibrary = name.replace(/\+0x[0-9a-f]+$/, '');
      if (named && !seen.has(name)) {
        seen.add(name);
        running.set(name, (running.get(name) ?? 0) + weight);
      }
      if (named && innermost === undefined) {
        const frameCategoryName = category(frame) ?? 'Other';
        const kind = isWasm(where) ? 'WebAssembly' : frameCategoryName;
        innermost = { name, kind };
      }
      stack = entry[stackPrefix] as number | null;
    }
    const selfName = innermost?.name ?? `${leafLibrary ?? '?'} (no named frame)`;
    self.set(selfName, (self.get(selfName) ?? 0) + weight);
    const kind = innermost?.kind ?? 'Other';
    split[kind] = (split[kind] ?? 0) + weight;
  }
  if (cpu === 0) return undefined;
  const order = (map: Map<string, number>): FunctionTime[] =>
    [...map.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, top)
      .map(([name, ms]) => ({ name, ms }));
  return {
    process: thread.processName ?? thread.processType ?? '?',
    thread: thread.name,
    pid: String(thread.pid ?? '?'),
    wallMs: wall,
    cpuMs: cpu,
    split,
    self: order(self),
    running: order(running),
  };
}

/** Every sampled thread with samples inside the windows, busiest first. */
export function summarizeProfile(file: string, windows: Window[], top = 15): ThreadSummary[] {
  const profile = JSON.parse(readFileSync(file, 'utf8')) as RawProfile;
  return threadsOf(profile)
    .map(({ thread, startTime, categories, libs }) => summarizeThread(thread, startTime, categories, libs, windows, top))
    .filter((summary): summary is ThreadSummary => summary !== undefined)
    .sort((a, b) => b.cpuMs - a.cpuMs);
}

/** The summary as text tables. */
export function formatSummary(summaries: ThreadSummary[], only: (summary: ThreadSummary) => boolean = () => true): string {
  const lines: string[] = [];
  const cut = (name: string): string => (name.length > 110 ? `${name.slice(0, 107)}...` : name);
  for (const summary of summaries.filter(only)) {
    const share = (ms: number): string => `${ms.toFixed(0)} (${summary.cpuMs > 0 ? ((100 * ms) / summary.cpuMs).toFixed(0) : '0'} %)`;
    lines.push(`\n${summary.process} (pid ${summary.pid}), thread ${summary.thread}: ${summary.cpuMs.toFixed(0)} ms CPU in ${summary.wallMs.toFixed(0)} ms sampled`);
    lines.push(
      `  CPU ms by kind: ${Object.entries(summary.split)
        .sort((a, b) => b[1] - a[1])
        .map(([kind, ms]) => `${kind} ${share(ms)}`)
        .join(', ')}`,
    );
    lines.push(`  ${'self ms'.padStart(8)}  top functions by self time`);
    for (const row of summary.self) lines.push(`  ${row.ms.toFixed(0).padStart(8)}  ${cut(row.name)}`);
    lines.push(`  ${'total ms'.padStart(8)}  top functions by running time (self + callees)`);
    for (const row of summary.running) lines.push(`  ${row.ms.toFixed(0).padStart(8)}  ${cut(row.name)}`);
  }
  return lines.join('\n');
}

/** `npx tsx bench/gecko-profile.ts PROFILE.json WINDOWS.json [--top N]`: the summary of a saved run. */
if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, windowsFile] = process.argv.slice(2);
  if (file === undefined || windowsFile === undefined) throw new Error('usage: gecko-profile.ts PROFILE.json WINDOWS.json');
  const windows = JSON.parse(readFileSync(windowsFile, 'utf8')) as Window[];
  console.log(formatSummary(summarizeProfile(file, windows)));
}
