/**
 * Works through the spool: each recipient record is delivered locally (MailboxStore) or to the
 * next hop, retried on temporary failure after `retry.scheduleSeconds` (the last delay repeats),
 * and bounced with a DSN on permanent failure or once older than `retry.maxAgeSeconds`.
 *
 * Exactly once per recipient, across crashes: a local delivery uses the stable id
 * `<entryId>.<index>`, which MailboxStore treats idempotently, and the record is removed only after
 * the delivery returned; a crash in between re-delivers the same id, which is a no-op.
 */
import type { RetryConfig } from '../config.ts';
import type { Logger } from '../log.ts';
import type { FinishedEntry, RecipientRecord, Spool } from '../spool/index.ts';
import { buildDsn } from './dsn.ts';
import { cleanDiagnostic, type DeliveryOutcome } from './outcome.ts';

export interface DeliveryAttempt {
  record: RecipientRecord;
  message: Buffer;
  /** Stable per spool entry and recipient. */
  deliveryId: string;
}

export interface DeliveryQueueOptions {
  spool: Spool;
  /** Our hostname, for DSNs. */
  hostname: string;
  retry: RetryConfig;
  deliver(attempt: DeliveryAttempt): Promise<DeliveryOutcome>;
  logger: Logger;
  /** Parallel deliveries (default 4). */
  concurrency?: number;
}

const key = (record: RecipientRecord): string => `${record.entryId}/${record.index}`;

export class DeliveryQueue {
  private readonly pending = new Map<string, RecipientRecord>();
  private readonly active = new Map<string, Promise<void>>();
  private timer: NodeJS.Timeout | undefined;
  private stopped = false;
  private readonly concurrency: number;

  constructor(private readonly options: DeliveryQueueOptions) {
    this.concurrency = options.concurrency ?? 4;
  }

  /** Loads what the spool holds (after a restart) and starts delivering. */
  async start(): Promise<void> {
    const records = await this.options.spool.list((file, error) => this.options.logger.error('spool.record.unreadable', { file, error }));
    if (records.length > 0) this.options.logger.info('queue.recovered', { recipients: records.length });
    // Entries that ended with failures just before a crash: their DSN was not sent yet.
    for (const finished of this.options.spool.finishedWithFailures()) {
      try {
        await this.bounce(finished, await this.options.spool.readMessage(finished.entryId));
      } catch (error) {
        this.options.logger.error('dsn.failed', { id: finished.entryId, error: error as Error });
      }
    }
    this.add(records);
  }

  add(records: RecipientRecord[]): void {
    if (this.stopped) return;
    for (const record of records) {
      // A time that is not a number would arm a timer that fires at once, forever (the spool
      // validates its files; this keeps the queue safe from any other source).
      if (!Number.isFinite(record.nextAttemptAt)) {
        this.options.logger.error('queue.record.invalid', { id: record.entryId, recipient: record.recipient });
        continue;
      }
      if (!this.active.has(key(record))) this.pending.set(key(record), record);
    }
    this.pump();
  }

  /** Pending plus in-flight recipients (for tests and the HTTP view). */
  get size(): number {
    return this.pending.size + this.active.size;
  }

  /** Stops taking work and waits for the deliveries in flight. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await Promise.allSettled([...this.active.values()]);
  }

  private pump(): void {
    if (this.stopped) return;
    if (this.timer) {
      clearTimeout(this.timer);
      this.timer = undefined;
    }
    const now = Date.now();
    let nextDue = Infinity;
    while (this.active.size < this.concurrency) {
      let due: RecipientRecord | undefined;
      for (const record of this.pending.values()) {
        if (record.nextAttemptAt <= now && (!due || record.nextAttemptAt < due.nextAttemptAt)) due = record;
      }
      if (!due) break;
      const id = key(due);
      this.pending.delete(id);
      const run = this.attempt(due)
        .catch((error: unknown) => this.options.logger.error('queue.attempt.crashed', { id, error: error as Error }))
        .finally(() => {
          this.active.delete(id);
          this.pump();
        });
      this.active.set(id, run);
    }
    for (const record of this.pending.values()) nextDue = Math.min(nextDue, record.nextAttemptAt);
    if (nextDue !== Infinity && this.active.size < this.concurrency) {
      this.timer = setTimeout(() => this.pump(), Math.max(0, nextDue - Date.now()));
    }
  }

  private async attempt(record: RecipientRecord): Promise<void> {
    const { spool, logger } = this.options;
    const log = logger.child({ id: record.entryId, recipient: record.recipient });
    let message: Buffer;
    try {
      message = await spool.readMessage(record.entryId);
    } catch (error) {
      log.error('queue.message.unreadable', { error: error as Error });
      return; // left in the spool for an operator; retried at the next start
    }
    let outcome: DeliveryOutcome;
    try {
      outcome = await this.options.deliver({ record, message, deliveryId: `${record.entryId}.${record.index}` });
    } catch (error) {
      outcome = { status: 'temporary', diagnostic: cleanDiagnostic((error as Error).message) };
    }
    if (this.stopped && outcome.status === 'temporary') return; // shutting down: retried after restart

    if (outcome.status === 'delivered') {
      const finished = await spool.complete(record);
      log.info('delivery.ok', { remoteMta: outcome.remoteMta, attempts: record.attempts + 1 });
      if (finished) await this.bounce(finished, message); // others of the message failed before
      return;
    }
    const attempts = record.attempts + 1;
    const ageMs = Date.now() - record.createdAt;
    const maxAgeMs = this.options.retry.maxAgeSeconds * 1000;
    if (outcome.status === 'temporary' && ageMs < maxAgeMs) {
      const schedule = this.options.retry.scheduleSeconds;
      const delaySeconds = schedule[Math.min(attempts - 1, schedule.length - 1)] ?? 60;
      const updated: RecipientRecord = { ...record, attempts, nextAttemptAt: Date.now() + delaySeconds * 1000, lastError: outcome.diagnostic };
      await spool.update(updated);
      log.warn('delivery.deferred', { attempts, retryInSeconds: delaySeconds, diagnostic: outcome.diagnostic, remoteMta: outcome.remoteMta });
      if (!this.stopped) this.pending.set(key(updated), updated);
      return;
    }
    // Permanent failure, or a temporary one that has lasted too long (RFC 3463 4.4.7: expired).
    const statusCode = outcome.status === 'permanent' ? outcome.statusCode : '4.4.7';
    log.warn('delivery.failed', { statusCode, diagnostic: outcome.diagnostic, remoteMta: outcome.remoteMta, attempts });
    const failure = { statusCode, diagnostic: outcome.diagnostic, ...(outcome.remoteMta === undefined ? {} : { remoteMta: outcome.remoteMta }) };
    const finished = await spool.complete(record, failure);
    if (finished) await this.bounce(finished, message);
  }

  /** One DSN for every failed recipient of a finished entry (RFC 3464), then the entry goes. */
  private async bounce(finished: FinishedEntry, message: Buffer): Promise<void> {
    const log = this.options.logger.child({ id: finished.entryId });
    if (finished.sender === '') {
      // Never bounce a bounce (RFC 5321 §4.5.5: the null reverse-path).
      log.warn('dsn.dropped', { reason: 'null sender', recipients: finished.failures.length });
    } else {
      const dsn = buildDsn({
        reportingMta: this.options.hostname,
        originalSender: finished.sender,
        failures: finished.failures,
        arrivalDate: new Date(finished.createdAt),
        originalMessage: message,
      });
      const records = await this.options.spool.add({ sender: '', recipients: [finished.sender] }, dsn);
      log.info('dsn.queued', { dsnId: records[0]?.entryId, to: finished.sender, recipients: finished.failures.length, bytes: dsn.length });
      this.add(records);
    }
    await this.options.spool.finish(finished.entryId);
  }
}
