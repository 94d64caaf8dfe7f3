/**
 * Where `decrypt` and `inline-verify` put plaintext until the core commits it: memory while small,
 * then a temporary file, so memory stays bounded for any message size and nothing reaches stdout
 * before every integrity check passed (the PlaintextSink contract of src/core/messages); with
 * Node's CFB (src/platform/node/cfb.ts) for fast SEIPDv1 decryption.
 *
 * The temporary file: when stdout is a regular file (`> out.txt`), an unnamed file in that file's
 * directory (src/platform/node/unnamed-file-sink.ts): the plaintext lands on that file system on
 * success anyway, so it need not be encrypted there. Otherwise (a pipe, a terminal, or a directory
 * we cannot write to) the AES-GCM-encrypted file under the system's temporary directory
 * (src/platform/node/plaintext-sink.ts), as plaintext must not reach a disk it was not meant for.
 */
import { fstatSync, readlinkSync, statSync } from 'node:fs';
import { dirname, isAbsolute } from 'node:path';
import type { CfbDecryptorFactory } from '../../core/index.ts';
import { fileSink, nodeCfb, spillingSink, unnamedFileSink, type SpillFile, type SpillingSink } from '../../platform/node/index.ts';
import { writeStdout } from './io.ts';

export interface PlaintextOutput {
  sink: SpillingSink;
  cfb: CfbDecryptorFactory;
  /** Writes the committed plaintext to stdout (once); only after the core committed the sink. */
  writeToStdout(): Promise<void>;
  /** Removes the temporary file, whatever happened. */
  dispose(): Promise<void>;
}

/**
 * The directory of the regular file open as `fd`, or undefined (not a regular file, no /proc, a
 * file since renamed or deleted). The path is trusted only if it still names the same file.
 */
export function regularFileDirectory(fd: number): string | undefined {
  try {
    const open = fstatSync(fd);
    if (!open.isFile()) return undefined;
    const path = readlinkSync(`/proc/self/fd/${fd}`);
    if (!isAbsolute(path)) return undefined;
    const named = statSync(path);
    if (named.dev !== open.dev || named.ino !== open.ino) return undefined;
    return dirname(path);
  } catch {
    return undefined;
  }
}

/** Plaintext held in memory before it goes to the temporary file (spillingSink's default). */
const MEMORY_LIMIT = 16 * 1024 * 1024;

/**
 * How much plaintext to hold in memory: none when stdin is a regular file larger than MEMORY_LIMIT
 * (a message's plaintext is about as large as the message, or larger if compressed), so a large
 * message goes to the file from its first octet rather than being copied into memory and then
 * written there (at 100 MiB, 16 MiB copied for nothing and held until the end).
 */
function memoryLimit(): number {
  try {
    const input = fstatSync(0);
    return input.isFile() && input.size > MEMORY_LIMIT ? 0 : MEMORY_LIMIT;
  } catch {
    return MEMORY_LIMIT;
  }
}

export async function openPlaintextOutput(): Promise<PlaintextOutput> {
  const directory = regularFileDirectory(1);
  const spill = async (): Promise<SpillFile> => {
    if (directory !== undefined) {
      try {
        return unnamedFileSink({ directory });
      } catch {
        /* not writable there: the encrypted file below */
      }
    }
    return fileSink();
  };
  const sink = spillingSink({ spill, memoryLimit: memoryLimit() });
  return {
    sink,
    cfb: nodeCfb,
    // A file beside a file output copies itself to fd 1 through one reused buffer; anything else streams.
    writeToStdout: async () => {
      if (!sink.copyTo(1)) await writeStdout(sink.read());
    },
    dispose: () => sink.dispose(),
  };
}
