// The extension side of the PGP/MIME Experiment (extension/experiments/pgpmime/api.ts) over a Node
// stand-in for the Experiment (named so: the real one needs Thunderbird and runs in
// test/e2e/pgp-mime.test.ts). servePgpMime hands Thunderbird the whole wrapPgpMime output in bounded
// pieces and answers with the byte count; any failure calls fail() and rejects, so the send fails.
// pump keeps the pieces in order with one in flight while the next is made.
import { describe, expect, it } from 'vitest';
import { pgpMimeAvailability, pump, servePgpMime, WRITE_CHUNK_BYTES, type EncapsulationRequest, type PgpMimeExperiment } from '../../../../extension/experiments/pgpmime/api.ts';
import { planOutgoing, read, type OutgoingPlan } from '../../../../src/core/index.ts';
import { loadCertificate, loadSecretKey } from '../../../../keys-fixtures/index.ts';

const CRLF = '\r\n';

/** Records what the background hands over; fires onEncapsulate like Thunderbird's parent side would. */
function standInExperiment() {
  const writes: Uint8Array[] = [];
  const failures: { handle: number; reason: string }[] = [];
  let listener: ((request: EncapsulationRequest) => Promise<number>) | undefined;
  const experiment: PgpMimeExperiment = {
    availability: async () => ({ available: true }),
    armNextSend: async () => true,
    disarm: async () => undefined,
    write: async (_handle, bytes) => {
      writes.push(new Uint8Array(bytes));
    },
    fail: async (handle, reason) => {
      failures.push({ handle, reason });
    },
    onEncapsulate: {
      addListener: (added) => {
        listener = added;
      },
      removeListener: () => {
        listener = undefined;
      },
    },
  };
  const encapsulate = (request: EncapsulationRequest): Promise<number> => {
    if (!listener) throw new Error('no listener');
    return listener(request);
  };
  return { experiment, writes, failures, encapsulate, listening: () => listener !== undefined };
}

const headers = `From: Alice <alice@sigill.test>${CRLF}To: bob@sigill.test${CRLF}Subject: ...${CRLF}Date: Mon, 30 Nov 2026 09:00:00 +0000${CRLF}`;
const big = 'x'.repeat(76);
const entity = `Content-Type: text/plain; charset=UTF-8${CRLF}Content-Transfer-Encoding: 8bit${CRLF}${CRLF}Hej Bob ✓${CRLF}${`${big}${CRLF}`.repeat(10_000)}`;

function request(overrides: Partial<EncapsulationRequest> = {}): EncapsulationRequest {
  return { handle: 7, tabId: 3, encrypt: true, sign: true, headers, subject: 'Hemligt ✓', outerSubject: '...', entity: new File([entity], 'sigill-pgpmime.eml'), ...overrides };
}

async function plan(options: { encrypt: boolean; sign: boolean; to?: string }): Promise<OutgoingPlan> {
  const [bob, alice] = await Promise.all([loadCertificate('bob'), loadSecretKey('alice', { unlocked: true })]);
  return planOutgoing({
    from: 'alice@sigill.test',
    to: [options.to ?? 'bob@sigill.test'],
    encrypt: options.encrypt,
    sign: options.sign,
    keys: {
      recipient: async (address) => (address === 'bob@sigill.test' ? { state: 'accepted', keys: [bob] } : { state: 'missing', keys: [] }),
      sender: async () => ({ certificate: alice.toPublic(), secretKey: alice }),
    },
  });
}

describe('servePgpMime', () => {
  it('writes the whole PGP/MIME replacement in pieces of at most 1 MiB and answers with its length; it reads back with the real subject', async () => {
    const stand = standInExperiment();
    const unsubscribe = servePgpMime(stand.experiment, { planFor: () => plan({ encrypt: true, sign: true }) });
    const written = await stand.encapsulate(request());
    expect(stand.failures).toEqual([]);
    expect(written).toBe(stand.writes.reduce((sum, piece) => sum + piece.length, 0));
    expect(stand.writes.length).toBeGreaterThan(1);
    expect(Math.max(...stand.writes.map((piece) => piece.length))).toBeLessThanOrEqual(WRITE_CHUNK_BYTES);
    const message = Buffer.concat([Buffer.from(headers), ...stand.writes]);
    const [bob, alice] = await Promise.all([loadSecretKey('bob', { unlocked: true }), loadCertificate('alice')]);
    const view = await read(new Uint8Array(message), { decryptionKeys: async () => [bob], verificationKeys: async () => [alice] });
    expect(view.errors).toEqual([]);
    expect(view.subject).toBe('...');
    expect(view.protectedSubject).toBe('Hemligt ✓');
    expect(view.signature).toBe('signed');
    expect(view.parts[0]?.content.startsWith('Hej Bob ✓')).toBe(true);
    unsubscribe();
    expect(stand.listening()).toBe(false);
  });

  it('fails the send (fail(), rejection, onFailure) when the plan is not ready, or does not match the armed format', async () => {
    for (const [planned, code] of [
      [{ encrypt: true, sign: true, to: 'nobody@sigill.test' }, 'KEY_NOT_FOUND'],
      [{ encrypt: false, sign: true }, 'INTERNAL'],
    ] as const) {
      const stand = standInExperiment();
      const failures: string[] = [];
      servePgpMime(stand.experiment, { planFor: () => plan(planned), onFailure: (_request, error) => failures.push(error.code) });
      await expect(stand.encapsulate(request())).rejects.toMatchObject({ code });
      expect(stand.failures).toEqual([{ handle: 7, reason: expect.any(String) }]);
      expect(failures).toEqual([code]);
      expect(stand.writes).toEqual([]);
    }
  });

  it('fails when the content cannot be signed as it is (8-bit in a multipart/signed), after nothing or part was written', async () => {
    const stand = standInExperiment();
    servePgpMime(stand.experiment, { planFor: () => plan({ encrypt: false, sign: true }) });
    await expect(stand.encapsulate(request({ encrypt: false, sign: true }))).rejects.toMatchObject({ code: 'BAD_INPUT' });
    expect(stand.failures).toHaveLength(1);
  });
});

/** A byte stream of these chunks, counting how many were pulled. */
function source(chunks: Uint8Array[]): { stream: ReadableStream<Uint8Array>; pulled: () => number; cancelled: () => unknown } {
  let pulled = 0;
  let cancelled: unknown;
  const stream = new ReadableStream<Uint8Array>(
    {
      pull(controller) {
        const next = chunks[pulled++];
        if (next) controller.enqueue(next);
        else controller.close();
      },
      cancel(reason) {
        cancelled = reason ?? 'cancelled';
      },
    },
    { highWaterMark: 0 },
  );
  return { stream, pulled: () => pulled, cancelled: () => cancelled };
}

describe('pump', () => {
  it('hands every byte on in order, in pieces of at most WRITE_CHUNK_BYTES, with one write in flight while the next piece is made', async () => {
    const chunks = Array.from({ length: 40 }, (_, index) => new Uint8Array(100 * 1024 + index).fill(index));
    chunks.push(new Uint8Array(3 * WRITE_CHUNK_BYTES + 5).fill(200)); // larger than a piece: cut
    const { stream, pulled } = source(chunks);
    const received: Uint8Array[] = [];
    let inFlight = 0;
    let mostInFlight = 0;
    let overlapped = false;
    const total = await pump(stream, async (bytes) => {
      inFlight++;
      mostInFlight = Math.max(mostInFlight, inFlight);
      // The write takes a while: the pump reads on meanwhile (the background encrypts while Thunderbird writes).
      const before = pulled();
      await new Promise((resolve) => setTimeout(resolve, 5));
      overlapped ||= pulled() > before;
      received.push(new Uint8Array(bytes));
      inFlight--;
    });
    const expected = Buffer.concat(chunks);
    expect(total).toBe(expected.length);
    expect(Buffer.concat(received).equals(expected)).toBe(true);
    expect(mostInFlight).toBe(1);
    expect(overlapped).toBe(true);
    expect(Math.max(...received.map((piece) => piece.length))).toBeLessThanOrEqual(WRITE_CHUNK_BYTES);
    // Pieces are joined up to the limit, not sent one per chunk.
    expect(received.length).toBeLessThan(chunks.length);
  });

  it('the pump reads ahead by at most one piece while a write is pending', async () => {
    const chunks = Array.from({ length: 64 }, () => new Uint8Array(256 * 1024));
    const { stream, pulled } = source(chunks);
    let release: (() => void) | undefined;
    const firstWrite = new Promise<void>((resolve) => (release = resolve));
    let writes = 0;
    const pumping = pump(stream, async () => {
      writes++;
      if (writes === 1) await firstWrite;
    });
    await new Promise((resolve) => setTimeout(resolve, 50));
    // The first piece is in flight; the second is made and waits: about two pieces read, not all 16 MiB.
    expect(pulled()).toBeLessThanOrEqual(Math.ceil((2 * WRITE_CHUNK_BYTES) / (256 * 1024)) + 2);
    release?.();
    expect(await pumping).toBe(64 * 256 * 1024);
  });

  it('a failed write fails the pump, stops the writes and cancels the source', async () => {
    const chunks = Array.from({ length: 20 }, () => new Uint8Array(512 * 1024));
    const { stream, cancelled } = source(chunks);
    let writes = 0;
    await expect(
      pump(stream, async () => {
        writes++;
        if (writes === 2) throw new Error('the message file cannot be written');
      }),
    ).rejects.toThrow('the message file cannot be written');
    expect(writes).toBe(2);
    expect(cancelled()).toBeDefined();
  });
});

describe('pgpMimeAvailability', () => {
  it('is "not available" without the Experiment, or when asking it throws', async () => {
    expect(await pgpMimeAvailability(undefined)).toEqual({ available: false, reason: 'the PGP/MIME Experiment is not loaded' });
    const broken = { ...standInExperiment().experiment, availability: () => Promise.reject(new Error('internals changed')) };
    expect(await pgpMimeAvailability(broken)).toEqual({ available: false, reason: 'internals changed' });
  });
});
