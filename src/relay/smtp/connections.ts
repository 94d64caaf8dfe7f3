/** Connection accounting of one SMTP listener: per-client counts, stress mode, the DATA deadline. */
import type { Socket } from 'node:net';
import type { SMTPServerSession } from 'smtp-server';
import { STRESS_THRESHOLD, type LimitsConfig } from '../config.ts';
import { clientKey } from '../network.ts';

/**
 * Raw sockets of one listener by client: the per-client connection count (Postfix's
 * smtpd_client_connection_count_limit), stress mode (Postfix: shorter timeouts when the server is
 * near its limit) and the socket of a session, which smtp-server does not hand to its callbacks.
 */
export class ConnectionTracker {
  private readonly sockets = new Map<string, Socket>();
  private readonly perClient = new Map<string, number>();
  /** Stops the line watch of a socket (after STARTTLS its raw bytes are no longer lines). */
  private readonly unwatch = new Map<Socket, () => void>();
  stressed = false;

  constructor(
    private readonly limits: LimitsConfig,
    private readonly onStressChange: (stressed: boolean) => void,
    /** The idle timeout in force now (shorter in stress mode); a started line must end within it. */
    private readonly idleTimeoutMs: () => number,
    /** What a client hears when its line took too long (RFC 5321 §3.8: 421, then the close). */
    private readonly lineTimeoutReply: string,
  ) {}

  private static id(remoteAddress: string, remotePort: number): string {
    return `${clientKey(remoteAddress)}|${remotePort}`;
  }

  /** Counts a new socket (before smtp-server arms its idle timeout, so stress mode applies to it). */
  add(socket: Socket): void {
    const id = ConnectionTracker.id(socket.remoteAddress ?? '', socket.remotePort ?? 0);
    const client = clientKey(socket.remoteAddress ?? '');
    this.sockets.set(id, socket);
    this.perClient.set(client, (this.perClient.get(client) ?? 0) + 1);
    this.update();
    this.watchLines(socket);
    socket.once('close', () => {
      this.unwatch.get(socket)?.();
      this.sockets.delete(id);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
      this.update();
    });
  }

  /**
   * A command line (or a DATA line) must be complete within the idle timeout: the socket's idle timer
   * restarts with every byte, so a client trickling one byte a minute would otherwise hold the
   * connection for ever (Postfix's smtpd_per_request_deadline). Only the plaintext phase is watched;
   * inside TLS the DATA deadline and the idle timeout remain.
   */
  private watchLines(socket: Socket): void {
    let timer: NodeJS.Timeout | undefined;
    const stop = (): void => {
      clearTimeout(timer);
      timer = undefined;
    };
    const onData = (chunk: Buffer): void => {
      const lastLineFeed = chunk.lastIndexOf(0x0a);
      if (lastLineFeed === chunk.length - 1) return stop(); // every line of the chunk is complete
      if (lastLineFeed >= 0) stop(); // a new line starts in this chunk: its own deadline
      if (timer !== undefined) return;
      timer = setTimeout(() => {
        socket.end(this.lineTimeoutReply);
        setTimeout(() => socket.destroy(), 1_000).unref();
      }, this.idleTimeoutMs());
      timer.unref();
    };
    socket.on('data', onData);
    this.unwatch.set(socket, () => {
      stop();
      socket.off('data', onData);
      this.unwatch.delete(socket);
    });
  }

  /** The session switched to TLS: its raw socket carries records, not lines, from now on. */
  secured(session: SMTPServerSession): void {
    const socket = this.socketOf(session);
    if (socket !== undefined) this.unwatch.get(socket)?.();
  }

  connectionsFrom(remoteAddress: string): number {
    return this.perClient.get(clientKey(remoteAddress)) ?? 0;
  }

  socketOf(session: SMTPServerSession): Socket | undefined {
    return this.sockets.get(ConnectionTracker.id(session.remoteAddress, session.remotePort));
  }

  private update(): void {
    const stressed = this.sockets.size >= Math.ceil(this.limits.connections * STRESS_THRESHOLD);
    if (stressed === this.stressed) return;
    this.stressed = stressed;
    this.onStressChange(stressed);
  }
}

/**
 * The DATA deadline of Postfix's smtpd_min_data_rate: the client starts with `timeoutMs`, and each
 * byte it sends earns 1/rate seconds more, never more than `timeoutMs` ahead. One byte every few
 * minutes (under the idle timeout) therefore no longer keeps a transaction open.
 */
export function dataDeadline(timeoutMs: number, bytesPerSecond: number, onExpired: () => void): { received(bytes: number): void; stop(): void } {
  let deadline = Date.now() + timeoutMs;
  let timer: NodeJS.Timeout | undefined;
  const arm = (): void => {
    timer = setTimeout(() => {
      if (Date.now() >= deadline) onExpired();
      else arm();
    }, Math.max(1, deadline - Date.now()));
    timer.unref();
  };
  arm();
  return {
    received(bytes) {
      if (bytesPerSecond > 0) deadline = Math.min(Date.now() + timeoutMs, deadline + (bytes * 1000) / bytesPerSecond);
    },
    stop() {
      clearTimeout(timer);
    },
  };
}
