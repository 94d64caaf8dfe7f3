/**
 * Passphrase prompts: an operation that needs a secret key asks here; a popup window (prompt/prompt.html)
 * shows which key and why, and every passphrase typed there is tried by the operation itself. A wrong
 * passphrase keeps the window open with a message; cancelling (button, Escape, closing the window)
 * rejects the operation with CANCELLED.
 */
import { SigillError, isSigillError } from '../../src/core/index.ts';
import type { PromptInfo } from '../shared/messages.ts';

export interface PromptWindows {
  /** Opens the prompt page for `requestId`; returns the window id when there is one. */
  open(requestId: string): Promise<number | undefined>;
  close(windowId: number): Promise<void>;
}

interface Pending {
  info: PromptInfo;
  attempt: (passphrase: string) => Promise<void>;
  resolve: () => void;
  reject: (error: unknown) => void;
  windowId?: number;
}

export class PassphrasePrompts {
  readonly #pending = new Map<string, Pending>();
  readonly #windows: PromptWindows;
  readonly #newId: () => string;

  constructor(windows: PromptWindows, newId: () => string = () => crypto.randomUUID()) {
    this.#windows = windows;
    this.#newId = newId;
  }

  /** Request ids waiting for a passphrase (for tests and diagnostics). */
  pendingIds(): string[] {
    return [...this.#pending.keys()];
  }

  /** Asks for a passphrase until `attempt` succeeds or the user cancels. */
  ask(info: PromptInfo, attempt: (passphrase: string) => Promise<void>): Promise<void> {
    const requestId = this.#newId();
    const done = new Promise<void>((resolve, reject) => {
      this.#pending.set(requestId, { info, attempt, resolve, reject });
    });
    void this.#windows.open(requestId).then(
      (windowId) => {
        const pending = this.#pending.get(requestId);
        if (pending !== undefined && windowId !== undefined) pending.windowId = windowId;
      },
      (error: unknown) => this.#finish(requestId, new SigillError('INTERNAL', { detail: 'the passphrase window could not be opened', cause: error })),
    );
    return done;
  }

  info(requestId: string): PromptInfo {
    return this.#require(requestId).info;
  }

  /**
   * Tries `passphrase`. BAD_PASSPHRASE is thrown back to the prompt, which stays open for another try;
   * success or any other error ends the request and closes the window.
   */
  async submit(requestId: string, passphrase: string): Promise<void> {
    const pending = this.#require(requestId);
    if (typeof passphrase !== 'string' || passphrase === '') {
      throw new SigillError('BAD_PASSPHRASE', { detail: 'the passphrase is empty' });
    }
    try {
      await pending.attempt(passphrase);
    } catch (error) {
      if (isSigillError(error, 'BAD_PASSPHRASE')) throw error;
      this.#finish(requestId, error);
      throw error;
    }
    this.#finish(requestId);
  }

  cancel(requestId: string): void {
    if (this.#pending.has(requestId)) this.#finish(requestId, new SigillError('CANCELLED', { detail: 'no passphrase was given' }));
  }

  /** The user closed the prompt window: the same as cancelling. */
  windowClosed(windowId: number): void {
    for (const [requestId, pending] of this.#pending) {
      if (pending.windowId === windowId) {
        pending.windowId = undefined;
        this.cancel(requestId);
      }
    }
  }

  #require(requestId: string): Pending {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) throw new SigillError('CANCELLED', { detail: 'this passphrase request is no longer open' });
    return pending;
  }

  #finish(requestId: string, error?: unknown): void {
    const pending = this.#pending.get(requestId);
    if (pending === undefined) return;
    this.#pending.delete(requestId);
    if (pending.windowId !== undefined) void this.#windows.close(pending.windowId).catch(() => undefined);
    if (error === undefined) pending.resolve();
    else pending.reject(error);
  }
}
