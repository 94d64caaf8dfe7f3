/**
 * PGP/MIME sends (RFC 3156) through the Experiment (extension/experiments/pgpmime): the send hook arms
 * one compose tab with its ready plan; when Thunderbird reaches the point where it wraps the finished
 * MIME body, the Experiment asks here (onEncapsulate) and the plan kept for that tab wraps it with the
 * core's wrapPgpMime (servePgpMime). A kept plan may hold an unlocked copy of the signing key: it is
 * cleared when the encapsulation ends, when the tab is armed again, and when the send ends any other way.
 */
import { clearUnlockedKey, SigillError, type OutgoingPlan } from '../../src/core/index.ts';
import { pgpMimeAvailability, servePgpMime, type EncapsulationRequest, type PgpMimeAvailability, type PgpMimeExperiment } from '../experiments/pgpmime/api.ts';

export interface PgpMimeArmOptions {
  /** The Subject on the outside of an encrypted message (the setting; "..." by default). */
  outerSubject: string;
}

/** What the send hook needs of PGP/MIME: can it work here, and arming one compose tab's next send. */
export interface PgpMimeSender {
  /** Whether the Experiment can work in this Thunderbird; never throws. */
  availability(): Promise<PgpMimeAvailability>;
  /**
   * Keeps `plan` for the tab's next send and arms the Experiment; from then on the plan's unlocked
   * signing key is this object's to clear. Rejects, keeping nothing (the key stays the caller's), when
   * it cannot.
   */
  arm(tabId: number, plan: OutgoingPlan, options: PgpMimeArmOptions): Promise<void>;
  /** Forgets what was kept for a tab (its send ended without reaching the encapsulation). */
  release(tabId: number): void;
  /** Forgets what was kept and undoes the arming (a new send of the tab decides afresh). */
  disarm(tabId: number): Promise<void>;
}

export interface PgpMimeSendsOptions {
  /** The send failed while being wrapped (the Experiment has failed it already): tell the user. */
  onFailure(tabId: number, error: SigillError): void;
}

export class PgpMimeSends implements PgpMimeSender {
  readonly #experiment: PgpMimeExperiment | undefined;
  readonly #armed = new Map<number, OutgoingPlan>();

  constructor(experiment: PgpMimeExperiment | undefined, options: PgpMimeSendsOptions) {
    this.#experiment = experiment;
    if (experiment === undefined) return;
    servePgpMime(experiment, {
      planFor: async (request: EncapsulationRequest) => {
        const plan = this.#armed.get(request.tabId);
        if (plan === undefined) throw new SigillError('INTERNAL', { detail: `no PGP/MIME send was prepared for compose tab ${request.tabId}` });
        return plan;
      },
      finished: (request) => this.release(request.tabId),
      onFailure: (request, error) => options.onFailure(request.tabId, error),
    });
  }

  async availability(): Promise<PgpMimeAvailability> {
    if (this.#experiment === undefined) return { available: false, reason: 'the PGP/MIME Experiment is not loaded' };
    return pgpMimeAvailability(this.#experiment);
  }

  async arm(tabId: number, plan: OutgoingPlan, options: PgpMimeArmOptions): Promise<void> {
    this.release(tabId);
    if (this.#experiment === undefined) throw new SigillError('UNSUPPORTED_OPTION', { detail: 'the PGP/MIME Experiment is not loaded' });
    this.#armed.set(tabId, plan);
    try {
      await this.#experiment.armNextSend(tabId, { encrypt: plan.encrypt, sign: plan.sign, outerSubject: options.outerSubject });
    } catch (error) {
      // Not armed: the caller keeps the plan (and its unlocked key) for the inline format.
      this.#armed.delete(tabId);
      throw error;
    }
  }

  release(tabId: number): void {
    const plan = this.#armed.get(tabId);
    this.#armed.delete(tabId);
    if (plan?.signingKey !== undefined) clearUnlockedKey(plan.signingKey);
  }

  async disarm(tabId: number): Promise<void> {
    this.release(tabId);
    await this.#experiment?.disarm(tabId);
  }

  /** Tabs with a kept plan (tests). */
  armedTabs(): number[] {
    return [...this.#armed.keys()];
  }
}
