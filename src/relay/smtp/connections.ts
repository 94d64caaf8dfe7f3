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
  stressed = false;

  constructor(
    private readonly limits: LimitsConfig,
    private readonly onStressChange: (stressed: boolean) => void,
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
    socket.once('close', () => {
      this.sockets.delete(id);
      const left = (this.perClient.get(client) ?? 1) - 1;
      if (left > 0) this.perClient.set(client, left);
      else this.perClient.delete(client);
      this.update();
    });
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
