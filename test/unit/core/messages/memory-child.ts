/**
 * Child process for the bounded-memory checks (run with tsx): encrypts a generated stream of
 * SIZE MiB and pipes the ciphertext straight into decrypt, never holding either in memory, then
 * prints {"maxRssKiB": ..., "bytes": ...} (peak resident set size from the kernel, not timing).
 *
 *   tsx memory-child.ts SIZE_MIB v1|v2 file|count node|noble [encrypt-to=PATH | decrypt-from=PATH]
 *
 * With encrypt-to the ciphertext goes to a file instead (nothing is decrypted); with decrypt-from
 * only decryption runs, reading that file, so each direction can be measured alone.
 */
import { readFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import * as openpgp from 'openpgp';
import { fileSink, nodeCfb } from '../../../../src/platform/node/index.ts';
import { decrypt, encrypt, type PlaintextSink } from '../../../../src/core/index.ts';

const [sizeArg = '16', version = 'v1', sinkKind = 'count', cfbKind = 'node', fileMode = ''] = process.argv.slice(2);
const size = Number(sizeArg) * 1024 * 1024;
const name = version === 'v2' ? 'erin' : 'bob';
const key = await openpgp.readPrivateKey({ armoredKey: readFileSync(new URL(`../../../../keys-fixtures/${name}.unprotected.sec.asc`, import.meta.url), 'utf8') });

let produced = 0;
const chunk = new Uint8Array(1 << 16).map((_, i) => (i * 31) & 0xff);
const input = new ReadableStream<Uint8Array>({
  pull(controller) {
    if (produced >= size) return controller.close();
    const length = Math.min(chunk.length, size - produced);
    produced += length;
    controller.enqueue(chunk.slice(0, length));
  },
});

let counted = 0;
const countingSink: PlaintextSink = {
  async write(bytes) {
    counted += bytes.length;
  },
  async commit() {},
  async abort() {},
};
const file = sinkKind === 'file' ? await fileSink() : undefined;
const [modeName, modePath = ''] = fileMode.split('=');
// Pull-based file adapters: each read or write waits for the previous one, so the file side
// applies backpressure exactly (Node 20's Readable.toWeb / Writable.toWeb buffer far ahead).
if (modeName === 'encrypt-to') {
  const out = await open(modePath, 'w');
  const reader = (await encrypt({ input, recipients: [key.toPublic()], armor: false })).getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    await out.write(value);
  }
  await out.close();
  process.stdout.write(`${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, bytes: produced })}\n`);
  process.exit(0);
}
async function fileStream(path: string): Promise<ReadableStream<Uint8Array>> {
  const handle = await open(path, 'r');
  return new ReadableStream<Uint8Array>({
    async pull(controller) {
      const buffer = new Uint8Array(1 << 16);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, null);
      if (bytesRead === 0) {
        await handle.close();
        controller.close();
      } else controller.enqueue(buffer.subarray(0, bytesRead));
    },
  });
}
const ciphertext = modeName === 'decrypt-from' ? await fileStream(modePath) : await encrypt({ input, recipients: [key.toPublic()], armor: false });
await decrypt({ input: ciphertext, sink: file ?? countingSink, decryptionKeys: [key], ...(cfbKind === 'node' ? { cfb: nodeCfb } : {}) });
if (file) {
  const reader = file.read().getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    counted += value.length;
  }
}
process.stdout.write(`${JSON.stringify({ maxRssKiB: process.resourceUsage().maxRSS, bytes: counted })}\n`);
