/**
 * DATA: the message streams into a spool writer behind our Received header, checked for bare CR/LF
 * and long lines as it comes, under the minimum-rate deadline; the 250 comes only after the spool
 * commit (fsync), and the queue is told.
 */
import type { SMTPServerDataStream, SMTPServerSession } from 'smtp-server';
import type { SpoolWriter } from '../../spool/index.ts';
import { dataDeadline } from '../connections.ts';
import { authenticatedUser, smtpError, type ListenerContext } from '../context.ts';
import { DataChecker } from '../data.ts';
import { receivedHeader } from '../trace.ts';

const VIOLATION_REPLY = {
  'bare-lf': smtpError(500, 'Error: bare <LF> received in message data'),
  'bare-cr': smtpError(500, 'Error: bare <CR> received in message data'),
  'line-too-long': smtpError(500, 'Error: line too long'),
} as const;

export function onData(ctx: ListenerContext, stream: SMTPServerDataStream, session: SMTPServerSession, callback: (err?: Error | null, message?: string) => void): void {
  const log = ctx.stateOf(session).log;
  const checker = new DataChecker(ctx.options.limits.lineLength);
  const recipients = session.envelope.rcptTo.map((rcpt) => rcpt.address);
  const sender = session.envelope.mailFrom ? session.envelope.mailFrom.address : '';
  let failed = false;
  const deadline = dataDeadline(ctx.idleTimeoutMs, ctx.options.limits.minDataRate, () => {
    log.warn('smtp.data.refused', { reason: 'data rate too low', bytes: stream.byteLength, minDataRate: ctx.options.limits.minDataRate });
    const socket = ctx.tracker.socketOf(session);
    // RFC 5321 §3.8: 421 and close (inside TLS only the close: this is the raw socket); the
    // partial message is dropped by the 'close' handler below.
    if (session.secure) socket?.destroy();
    else socket?.end(`421 4.4.2 ${ctx.options.hostname} Error: data rate too low, closing connection\r\n`);
    setTimeout(() => socket?.destroy(), 1_000).unref();
  });
  const writerPromise: Promise<SpoolWriter | undefined> = ctx.options.spool.createWriter({ sender, recipients }).then(
    async (writer) => {
      try {
        const trace = receivedHeader({
          helo: session.hostNameAppearsAs,
          remoteAddress: session.remoteAddress,
          hostname: ctx.options.hostname,
          protocol: session.transmissionType,
          id: writer.entryId,
          recipients,
        });
        await writer.write(trace);
        return writer;
      } catch (error) {
        // The address checks at MAIL/RCPT make this unreachable; if it ever is, nothing is stored.
        log.error('smtp.trace.refused', { error: error as Error });
        await writer.abort();
        return undefined;
      }
    },
    (error: unknown) => {
      log.error('spool.create.failed', { error: error as Error });
      return undefined;
    },
  );
  // Chunks are written strictly in order; the stream is paused while a write is pending.
  let writing: Promise<unknown> = writerPromise;
  stream.on('data', (chunk: Buffer) => {
    deadline.received(chunk.length);
    checker.check(chunk);
    if (checker.violation || stream.sizeExceeded || failed) return; // keep reading, stop writing
    stream.pause();
    writing = writing
      .then(async () => {
        const writer = await writerPromise;
        if (!writer) throw new Error('no spool writer');
        await writer.write(chunk);
      })
      .catch((error: unknown) => {
        if (!failed) log.error('spool.write.failed', { error: error as Error });
        failed = true;
      })
      .finally(() => stream.resume());
  });
  let ended = false;
  // A client that goes away mid-DATA: smtp-server destroys the stream without 'end'. The
  // half-written message is dropped (it was never acknowledged).
  stream.on('error', () => undefined);
  stream.on('close', () => {
    deadline.stop();
    if (ended) return;
    failed = true;
    log.warn('smtp.data.aborted', { reason: 'connection closed during DATA' });
    void writing.catch(() => undefined).then(async () => (await writerPromise)?.abort());
  });
  stream.on('end', () => {
    deadline.stop();
    ended = true;
    checker.finish();
    void writing
      .catch(() => undefined)
      .then(async () => {
        const writer = await writerPromise;
        if (!writer) return callback(smtpError(451, 'Error: local error in processing'));
        if (stream.sizeExceeded) {
          await writer.abort();
          log.warn('smtp.data.refused', { reason: 'size', bytes: stream.byteLength });
          return callback(smtpError(552, 'Error: message exceeds fixed maximum message size'));
        }
        if (checker.violation) {
          await writer.abort();
          log.warn('smtp.data.refused', { reason: checker.violation });
          return callback(VIOLATION_REPLY[checker.violation]);
        }
        if (failed) {
          await writer.abort();
          return callback(smtpError(451, 'Error: local error in processing'));
        }
        const records = await writer.commit();
        log.info('smtp.accepted', { id: writer.entryId, sender, recipients, bytes: stream.byteLength, user: authenticatedUser(session) });
        callback(null, `OK: queued as ${writer.entryId}`);
        ctx.options.onAccepted(records);
      })
      .catch((error: unknown) => {
        log.error('spool.commit.failed', { error: error as Error });
        callback(smtpError(451, 'Error: local error in processing')); // RFC 5321 §4.2.2: try again later
      });
  });
}
