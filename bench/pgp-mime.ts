/**
 * PGP/MIME against inline, in Node: `node --expose-gc --import tsx bench/pgp-mime.ts [--size 10M] [--runs 3]`.
 *
 * One message with a text body and one attachment of --size random bytes, encrypted to bob and the
 * sender and signed, as the send path would: inline (`transformOutgoing`: armored body + armored
 * `name.asc`) and PGP/MIME (`wrapPgpMime` over the MIME entity Thunderbird would hand over, the
 * attachment base64 inside it). Prints the median time, output size and peak memory growth (heap and array buffers, sampled) of each and the
 * PGP/MIME/inline ratio. Figures are printed, never asserted. (Inside Thunderbird, where Debian runs
 * JavaScript without the baseline JIT, see `bench/core-in-thunderbird.ts` for the core's ratios.)
 */
import { randomBytes } from 'node:crypto';
import { loadCertificate, loadSecretKey } from '../keys-fixtures/index.ts';
import { planOutgoing, transformOutgoing, wrapPgpMime, type OutgoingPlan } from '../src/core/index.ts';
import { option, parseSize } from './args.ts';

const size = parseSize(option('size', '10M'));
const runs = Number(option('runs', '3'));
const CRLF = '\r\n';

const [bob, alice] = await Promise.all([loadCertificate('bob'), loadSecretKey('alice', { unlocked: true })]);
const plan: OutgoingPlan = await planOutgoing({
  from: 'alice@sigill.test',
  to: ['bob@sigill.test'],
  encrypt: true,
  sign: true,
  keys: { recipient: async () => ({ state: 'accepted', keys: [bob] }), sender: async () => ({ certificate: alice.toPublic(), secretKey: alice }) },
});
const attachment = new Uint8Array(randomBytes(size));
const body = 'Hello Bob,\nthe report is attached.\n';
const base64 = (Buffer.from(attachment).toString('base64').match(/.{1,76}/g) ?? []).join(CRLF);
const entity = Buffer.from(
  `Content-Type: multipart/mixed; boundary="b1"${CRLF}${CRLF}--b1${CRLF}Content-Type: text/plain; charset=UTF-8${CRLF}${CRLF}${body.replace(/\n/g, CRLF)}--b1${CRLF}` +
    `Content-Type: application/octet-stream; name="report.bin"${CRLF}Content-Disposition: attachment; filename="report.bin"${CRLF}Content-Transfer-Encoding: base64${CRLF}${CRLF}${base64}${CRLF}--b1--${CRLF}`,
);
const headers = `From: alice@sigill.test${CRLF}To: bob@sigill.test${CRLF}Subject: Report${CRLF}`;

interface Figure {
  ms: number;
  bytes: number;
  heapGrowth: number;
}

async function measure(run: () => Promise<number>): Promise<Figure> {
  globalThis.gc?.();
  const used = (): number => {
    const memory = process.memoryUsage();
    return memory.heapUsed + memory.arrayBuffers;
  };
  const heapBefore = used();
  let peak = heapBefore;
  const sampler = setInterval(() => (peak = Math.max(peak, used())), 10);
  const started = performance.now();
  const bytes = await run();
  const ms = performance.now() - started;
  clearInterval(sampler);
  return { ms, bytes, heapGrowth: Math.max(0, peak - heapBefore) };
}

async function drain(stream: ReadableStream<Uint8Array>): Promise<number> {
  let total = 0;
  const reader = stream.getReader();
  for (let next = await reader.read(); !next.done; next = await reader.read()) total += next.value.length;
  return total;
}

const inline = async (): Promise<number> => {
  const result = await transformOutgoing({ plan, body, attachments: [{ name: 'report.bin', data: () => attachment }] });
  let total = result.body.length;
  for (const file of result.attachments) total += await drain(await file.open());
  return total;
};
const pgpMime = async (): Promise<number> => {
  const result = await wrapPgpMime({ plan, entity: () => entity, headers });
  return drain(result.content);
};

function median(figures: Figure[]): Figure {
  const sorted = [...figures].sort((a, b) => a.ms - b.ms);
  return sorted[Math.floor(sorted.length / 2)] as Figure;
}

const results: Record<string, Figure> = {};
for (const [name, run] of [
  ['inline', inline],
  ['PGP/MIME', pgpMime],
] as const) {
  const figures: Figure[] = [];
  for (let index = 0; index < runs; index++) figures.push(await measure(run));
  results[name] = median(figures);
}
const mib = (bytes: number) => (bytes / 1024 / 1024).toFixed(1);
console.log(`encrypt+sign, one ${mib(size)} MiB attachment, median of ${runs} (Node ${process.version}${globalThis.gc ? '' : '; run with --expose-gc for steadier heap figures'})`);
for (const [name, figure] of Object.entries(results)) {
  console.log(`${name.padEnd(9)} ${figure.ms.toFixed(0).padStart(6)} ms  output ${mib(figure.bytes).padStart(6)} MiB  memory growth ${mib(figure.heapGrowth).padStart(6)} MiB`);
}
const [a, b] = [results.inline, results['PGP/MIME']];
if (a && b) console.log(`PGP/MIME / inline: time ${(b.ms / a.ms).toFixed(2)}x, output ${(b.bytes / a.bytes).toFixed(2)}x`);
