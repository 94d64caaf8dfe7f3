/**
 * Where `decrypt` and `inline-verify` put plaintext until the core commits it: memory while small,
 * then the CLI's encrypted temporary file (src/platform/node/spilling-sink.ts, plaintext-sink.ts),
 * so memory stays bounded for any message size and nothing reaches
 * stdout before every integrity check passed (the PlaintextSink contract of src/core/messages);
 * with Node's CFB (src/platform/node/cfb.ts) for fast SEIPDv1 decryption.
 */
import type { CfbDecryptorFactory } from '../../core/index.ts';
import { nodeCfb, spillingSink, type SpillingSink } from '../../platform/node/index.ts';

export interface PlaintextOutput {
  sink: SpillingSink;
  cfb: CfbDecryptorFactory;
  /** The committed plaintext (once); only after the core committed the sink. */
  read(): ReadableStream<Uint8Array>;
  /** Removes the temporary file, whatever happened. */
  dispose(): Promise<void>;
}

export async function openPlaintextOutput(): Promise<PlaintextOutput> {
  const sink = spillingSink();
  return { sink, cfb: nodeCfb, read: () => sink.read(), dispose: () => sink.dispose() };
}
