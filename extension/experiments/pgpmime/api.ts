/**
 * The extension side of the PGP/MIME Experiment (schema.json, implementation.js): its typed API, and
 * `servePgpMime`, which answers the Experiment's requests with the core's `wrapPgpMime`. The Experiment
 * only moves bytes; the plan (keys, policy) and the OpenPGP work happen here, in ordinary tested code.
 */
import { SigillError, isSigillError, wrapPgpMime, type OutgoingPlan } from '../../../src/core/index.ts';

export interface PgpMimeAvailability {
  available: boolean;
  reason?: string;
}

export interface PgpMimeSendFormat {
  encrypt: boolean;
  sign: boolean;
  /** The Subject on the outside of an encrypted message; default "...". */
  outerSubject?: string;
}

export interface EncapsulationRequest {
  handle: number;
  tabId: number;
  encrypt: boolean;
  sign: boolean;
  /** The message's top-level header fields as Thunderbird wrote them (no Bcc). */
  headers: string;
  /** The real subject; when encrypting, the outside already carries `outerSubject`. */
  subject: string;
  outerSubject?: string;
  /** The MIME entity Thunderbird produced (a temporary file, removed when the encapsulation ends). */
  entity: File;
}

/** `browser.sigillPgpMime` as schema.json declares it. */
export interface PgpMimeExperiment {
  availability(): Promise<PgpMimeAvailability>;
  armNextSend(tabId: number, format: PgpMimeSendFormat): Promise<boolean>;
  disarm(tabId: number): Promise<void>;
  write(handle: number, bytes: Uint8Array): Promise<void>;
  fail(handle: number, reason: string): Promise<void>;
  onEncapsulate: {
    addListener(listener: (request: EncapsulationRequest) => Promise<number>): void;
    removeListener(listener: (request: EncapsulationRequest) => Promise<number>): void;
  };
}

/** The Experiment's API in this extension context, or undefined where it is not declared (no Experiment). */
export function pgpMimeExperiment(scope: object = globalThis): PgpMimeExperiment | undefined {
  const holder = scope as { browser?: { sigillPgpMime?: PgpMimeExperiment }; messenger?: { sigillPgpMime?: PgpMimeExperiment } };
  return holder.messenger?.sigillPgpMime ?? holder.browser?.sigillPgpMime;
}

/** Whether PGP/MIME can be sent here; never throws (a missing or broken Experiment is "not available"). */
export async function pgpMimeAvailability(experiment = pgpMimeExperiment()): Promise<PgpMimeAvailability> {
  if (!experiment) return { available: false, reason: 'the PGP/MIME Experiment is not loaded' };
  try {
    return await experiment.availability();
  } catch (error) {
    return { available: false, reason: error instanceof Error ? error.message : String(error) };
  }
}

/**
 * The replacement goes to Thunderbird in pieces of at most this size: each write() is a round trip
 * to the main process that costs tens of milliseconds of privileged JavaScript where it runs without a
 * JIT (Debian's Thunderbird), so few calls; memory stays bounded by two pieces (one in flight).
 */
export const WRITE_CHUNK_BYTES = 1024 * 1024;

export interface ServeOptions {
  /**
   * The ready plan for this send (the send path's, for that compose tab). Throwing, or a plan whose
   * encrypt/sign differ from the request, fails the send.
   */
  planFor(request: EncapsulationRequest): Promise<OutgoingPlan>;
  /** Told about every failure (for a notification); the send has failed already. */
  onFailure?(request: EncapsulationRequest, error: SigillError): void;
  /** Called once the encapsulation has ended, either way (the plan's unlocked key can go). */
  finished?(request: EncapsulationRequest): void;
}

/**
 * Answers onEncapsulate: wraps Thunderbird's entity with wrapPgpMime and streams the result back.
 * Any error fails the send (the Experiment throws inside Thunderbird's send). Returns the unsubscribe.
 */
export function servePgpMime(experiment: PgpMimeExperiment, options: ServeOptions): () => void {
  const listener = async (request: EncapsulationRequest): Promise<number> => {
    const started = Date.now();
    try {
      const plan = await options.planFor(request);
      if (plan.encrypt !== request.encrypt || plan.sign !== request.sign) {
        throw new SigillError('INTERNAL', { detail: 'the plan does not match the armed PGP/MIME format' });
      }
      const result = await wrapPgpMime({
        plan,
        entity: () => request.entity.stream(),
        headers: request.headers,
        subject: request.subject,
        ...(request.outerSubject !== undefined ? { outerSubject: request.outerSubject } : {}),
      });
      const total = await pump(result.content, (bytes) => experiment.write(request.handle, bytes));
      // The background's share of the send (bench/send-in-thunderbird.ts prints it next to the total).
      console.info(`sigill: PGP/MIME ${request.encrypt ? 'encrypted' : 'signed'}: ${request.entity.size} bytes from Thunderbird, ${total} bytes back in ${Date.now() - started} ms`);
      return total;
    } catch (error) {
      const sigillError = isSigillError(error) ? error : new SigillError('INTERNAL', { detail: error instanceof Error ? error.message : String(error) });
      await experiment.fail(request.handle, sigillError.message).catch(() => undefined);
      options.onFailure?.(request, sigillError);
      throw sigillError;
    } finally {
      options.finished?.(request);
    }
  };
  experiment.onEncapsulate.addListener(listener);
  return () => experiment.onEncapsulate.removeListener(listener);
}

/**
 * Reads a stream to its end, handing it on in pieces of at most WRITE_CHUNK_BYTES, in order; returns the
 * byte count. One piece is in flight while the next is made (the main process writes while the
 * background encrypts); the next is handed on only when the previous one has arrived, so the order is
 * kept and a failed write stops the pump.
 */
export async function pump(stream: ReadableStream<Uint8Array>, write: (bytes: Uint8Array) => Promise<void>): Promise<number> {
  const reader = stream.getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let total = 0;
  let inFlight: Promise<void> = Promise.resolve();
  const flush = async (): Promise<void> => {
    if (pendingBytes === 0) return;
    // A chunk that is a whole buffer goes as it is; otherwise the bytes are copied (natively) into one
    // piece: cloning a view for the main process would carry its whole buffer.
    const [only] = pending;
    const piece = pending.length === 1 && only !== undefined && only.byteOffset === 0 && only.byteLength === only.buffer.byteLength ? only : concat(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    await inFlight;
    inFlight = write(piece);
    // Its failure is seen at the next flush (or the end); until then it must not count as unhandled.
    inFlight.catch(() => undefined);
    total += piece.length;
  };
  try {
    for (let next = await reader.read(); !next.done; next = await reader.read()) {
      // A large chunk is cut, so no single call carries more than WRITE_CHUNK_BYTES.
      for (let offset = 0; offset < next.value.length; offset += WRITE_CHUNK_BYTES) {
        const part = next.value.subarray(offset, offset + WRITE_CHUNK_BYTES);
        if (pendingBytes + part.length > WRITE_CHUNK_BYTES) await flush();
        pending.push(part);
        pendingBytes += part.length;
      }
    }
    await flush();
    await inFlight;
  } catch (error) {
    await reader.cancel(error).catch(() => undefined);
    throw error;
  }
  return total;
}

function concat(chunks: Uint8Array[], length: number): Uint8Array {
  const joined = new Uint8Array(length);
  let offset = 0;
  for (const chunk of chunks) {
    joined.set(chunk, offset);
    offset += chunk.length;
  }
  return joined;
}
