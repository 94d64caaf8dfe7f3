// The extension side of the PGP/MIME Experiment (extension/experiments/pgpmime/api.ts) over a Node
// stand-in for the Experiment (named so: the real one needs Thunderbird and runs in
// test/e2e/pgp-mime.test.ts). servePgpMime hands Thunderbird the whole wrapPgpMime output in bounded
// pieces and answers with the byte count; any failure calls fail() and rejects, so the send fails.
import { describe, expect, it } from 'vitest';
import { pgpMimeAvailability, servePgpMime, type EncapsulationRequest, type PgpMimeExperiment } from '../../../../extension/experiments/pgpmime/api.ts';
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
  it('writes the whole PGP/MIME replacement in pieces of at most 256 KiB and answers with its length; it reads back with the real subject', async () => {
    const stand = standInExperiment();
    const unsubscribe = servePgpMime(stand.experiment, { planFor: () => plan({ encrypt: true, sign: true }) });
    const written = await stand.encapsulate(request());
    expect(stand.failures).toEqual([]);
    expect(written).toBe(stand.writes.reduce((sum, piece) => sum + piece.length, 0));
    expect(stand.writes.length).toBeGreaterThan(1);
    expect(Math.max(...stand.writes.map((piece) => piece.length))).toBeLessThanOrEqual(256 * 1024);
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

describe('pgpMimeAvailability', () => {
  it('is "not available" without the Experiment, or when asking it throws', async () => {
    expect(await pgpMimeAvailability(undefined)).toEqual({ available: false, reason: 'the PGP/MIME Experiment is not loaded' });
    const broken = { ...standInExperiment().experiment, availability: () => Promise.reject(new Error('internals changed')) };
    expect(await pgpMimeAvailability(broken)).toEqual({ available: false, reason: 'internals changed' });
  });
});
