/**
 * The relay's POP3 server: RFC 1939 (POP3), RFC 2449 (CAPA, response codes, PIPELINING), RFC 2595 §4
 * (STLS) and RFC 5034 (AUTH PLAIN, with RFC 4616 for the PLAIN message).
 *
 * Sessions go AUTHORIZATION -> TRANSACTION -> UPDATE (RFC 1939 §3). The maildrop is locked for the whole
 * TRANSACTION state, so a second session is refused with [IN-USE] (RFC 2449 §8.1.1); deletions are only
 * marks until QUIT enters UPDATE, so a dropped connection or an idle timeout deletes nothing.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type Server, type Socket } from 'node:net';
import { TLSSocket, type SecureContext } from 'node:tls';
import type { AuthResult, Authenticator } from '../auth.ts';
import { STRESS_THRESHOLD } from '../config.ts';
import type { Logger } from '../log.ts';
import { counted } from '../message.ts';
import type { MailboxLock, MailboxStore, StoredMessage } from '../mailbox.ts';
import { clientKey, formatHostPort, isLoopback, listenOn, type ListenAddress } from '../network.ts';
import { MultilineEncoder } from './multiline.ts';

export interface Pop3Limits {
  /** Concurrent connections; one more gets "-ERR [SYS/TEMP]" and is closed. Default 100. */
  maxConnections?: number;
  /** Longest command line including CRLF. Default 255 (RFC 2449 §4). */
  maxCommandLength?: number;
  /** Longest AUTH continuation line (a base64 PLAIN response). Default 2048. */
  maxAuthLineLength?: number;
  /** Concurrent connections from one client address (IPv6: one /64). Default 50. */
  maxConnectionsPerClient?: number;
  /**
   * Idle time before the session is closed without UPDATE. Default 10 min (RFC 1939 §3 minimum).
   * A command line must also be complete within it, however slowly its bytes trickle in.
   */
  idleTimeoutMs?: number;
  /** Idle timeout of sessions while the server is near `maxConnections` (80 %). Default 10 s. */
  stressIdleTimeoutMs?: number;
  /** Failed logins on one connection before it is closed. Default 3. */
  maxAuthFailures?: number;
  /** Unknown, malformed or out-of-state commands before the connection is closed. Default 20. */
  maxBadCommands?: number;
  /** Pipelined input held unprocessed before the socket is paused. Default 64 KiB. */
  maxBufferedInput?: number;
}

export interface Pop3ServerOptions {
  /** Port 0 picks a free one. */
  listen: ListenAddress;
  store: MailboxStore;
  authenticator: Pick<Authenticator, 'authenticate'>;
  /** The relay's TLS context (tls.ts). Without it there is no STLS and plaintext login only on loopback. */
  tls?: SecureContext;
  logger: Logger;
  /** Shown in the greeting. */
  hostname: string;
  limits?: Pop3Limits;
  /**
   * Allow USER/PASS and AUTH PLAIN without TLS from loopback clients (like the submission listener).
   * Default true; tests set false to exercise the off-loopback rules.
   */
  plaintextAuthOnLoopback?: boolean;
}

export interface Pop3Server {
  /** The address actually listened on. */
  address: ListenAddress;
  close(): Promise<void>;
}

type State = 'authorization' | 'transaction' | 'update' | 'closed';

const DEFAULT_LIMITS: Required<Pop3Limits> = {
  maxConnections: 100,
  maxConnectionsPerClient: 50,
  stressIdleTimeoutMs: 10_000,
  maxCommandLength: 255,
  maxAuthLineLength: 2048,
  idleTimeoutMs: 10 * 60_000,
  maxAuthFailures: 3,
  maxBadCommands: 20,
  maxBufferedInput: 64 * 1024,
};

/** Lines of a LIST/UIDL listing written at once (about 50 KB of UIDL lines). */
const LISTING_SLICE_LINES = 1024;
const MESSAGE_NUMBER = /^[1-9][0-9]{0,8}$/;
const LINE_COUNT = /^[0-9]{1,9}$/;

interface ServerContext {
  options: Pop3ServerOptions;
  limits: Required<Pop3Limits>;
  secureContext: SecureContext | undefined;
  /** The idle timeout in force now (shorter in stress mode). */
  idleTimeoutMs(): number;
}

class Pop3Session {
  private socket: Socket;
  private readonly raw: Socket;
  private readonly remoteAddress: string;
  private readonly logger: Logger;
  private state: State = 'authorization';
  private secure = false;
  private input: Buffer = Buffer.alloc(0);
  /** Skipping the rest of an over-long line. */
  private discarding = false;
  private processing = false;
  private user: string | undefined;
  /** Waiting for the base64 response to "AUTH PLAIN" (RFC 5034 §4). */
  private awaitingPlainResponse = false;
  private authFailures = 0;
  private badCommands = 0;
  /** Runs while an incomplete command line waits for its end (see watchPartialLine). */
  private lineDeadline: NodeJS.Timeout | undefined;
  /** Said once per session in the log: this client let our replies pile up. */
  private loggedBackpressure = false;
  private lock: MailboxLock | undefined;
  private address = '';
  private messages: StoredMessage[] = [];
  private readonly deleted = new Set<number>();
  private readonly onData = (chunk: Buffer): void => this.receive(chunk);
  private readonly onClose = (): void => {
    if (this.cleaningUp) return;
    this.cleaningUp = true;
    void this.cleanUp().finally(() => this.resolveClosed());
  };
  private cleaningUp = false;
  private resolveClosed: () => void = () => undefined;
  readonly closed: Promise<void>;

  constructor(
    socket: Socket,
    private readonly context: ServerContext,
  ) {
    this.raw = socket;
    this.socket = socket;
    this.remoteAddress = socket.remoteAddress ?? 'unknown';
    this.logger = context.options.logger.child({
      listener: 'pop3',
      session: randomBytes(6).toString('hex'),
      remote: this.remoteAddress,
    });
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    socket.on('error', (error) => this.logger.warn('pop3.socket-error', { error }));
    this.watch(socket);
    this.logger.info('pop3.connect', {});
    this.reply(`+OK ${context.options.hostname} Sigill POP3 server ready`);
  }

  /** Reads lines from, and times out on, the socket in use (the raw one, then the TLS one after STLS). */
  private watch(socket: Socket): void {
    socket.on('data', this.onData);
    socket.once('close', this.onClose);
    socket.setTimeout(this.context.idleTimeoutMs(), () => {
      // RFC 1939 §3: an autologout timer ends the session WITHOUT entering UPDATE.
      this.logger.info('pop3.idle-timeout', {});
      this.reply('-ERR autologout: idle for too long');
      this.end();
    });
  }

  private get limits(): Required<Pop3Limits> {
    return this.context.limits;
  }

  private reply(line: string): void {
    if (this.state === 'closed' || this.socket.destroyed) return;
    this.socket.write(`${line}\r\n`);
  }

  private end(): void {
    if (this.state === 'closed') return;
    this.state = 'closed';
    this.socket.end();
    // If the peer never reads, do not wait forever for the FIN handshake.
    setTimeout(() => this.destroy(), 5_000).unref();
  }

  /** A method, so TypeScript does not narrow `state` across awaits. */
  private isClosed(): boolean {
    return this.state === 'closed';
  }

  destroy(): void {
    this.state = 'closed';
    this.socket.destroy();
    this.raw.destroy();
  }

  private async cleanUp(): Promise<void> {
    this.state = 'closed';
    clearTimeout(this.lineDeadline);
    const lock = this.lock;
    this.lock = undefined;
    if (lock !== undefined) await lock.release().catch((error: unknown) => this.logger.error('pop3.unlock-failed', { error }));
    this.logger.info('pop3.close', {});
  }

  // ---- input: CRLF lines, bounded, processed one at a time (RFC 2449 §6.6 PIPELINING) ----

  private receive(chunk: Buffer): void {
    if (this.state === 'closed') return;
    if (this.discarding) {
      const newline = chunk.indexOf(0x0a);
      if (newline === -1) return;
      this.discarding = false;
      this.clearLineDeadline();
      chunk = chunk.subarray(newline + 1);
      this.input = Buffer.alloc(0);
      this.reply('-ERR line too long');
      if (this.countBadCommand()) return;
    }
    this.input = this.input.length === 0 ? chunk : Buffer.concat([this.input, chunk]);
    if (this.input.length > this.limits.maxBufferedInput) this.socket.pause();
    void this.drainInput();
    this.watchPartialLine();
  }

  private clearLineDeadline(): void {
    clearTimeout(this.lineDeadline);
    this.lineDeadline = undefined;
  }

  /**
   * A started command line must be complete within the idle timeout: the socket's own timeout
   * restarts with every byte, so a client trickling one byte a minute would otherwise hold the
   * session forever (as Postfix's smtpd_per_request_deadline).
   */
  private watchPartialLine(): void {
    // Only a line still being received; complete lines waiting for us are our delay, not the client's.
    const partial = this.discarding || (this.input.length > 0 && this.input.indexOf(0x0a) === -1);
    if (!partial) return this.clearLineDeadline();
    if (this.lineDeadline !== undefined || this.state === 'closed') return;
    this.lineDeadline = setTimeout(() => {
      this.lineDeadline = undefined;
      if (!this.discarding && (this.input.length === 0 || this.input.indexOf(0x0a) !== -1)) return;
      this.logger.info('pop3.line-timeout', {});
      this.reply('-ERR autologout: command line not completed in time');
      this.end();
    }, this.context.idleTimeoutMs());
    this.lineDeadline.unref();
  }

  private currentLineLimit(): number {
    return this.awaitingPlainResponse ? this.limits.maxAuthLineLength : this.limits.maxCommandLength;
  }

  private async drainInput(): Promise<void> {
    if (this.processing) return;
    this.processing = true;
    try {
      while (this.state !== 'closed') {
        const newline = this.input.indexOf(0x0a);
        const limit = this.currentLineLimit();
        if (newline === -1) {
          if (this.input.length > limit) {
            // Over-long: drop what we have, skip to the next LF, then answer -ERR.
            this.input = Buffer.alloc(0);
            this.discarding = true;
            this.awaitingPlainResponse = false;
          }
          break;
        }
        const lineBytes = this.input.subarray(0, newline + 1);
        this.input = this.input.subarray(newline + 1);
        this.clearLineDeadline(); // this line is complete; the next one gets its own deadline
        if (lineBytes.length > limit + 1) {
          this.awaitingPlainResponse = false; // an over-long SASL response fails the exchange
          this.reply('-ERR line too long');
          if (this.countBadCommand()) break;
          continue;
        }
        // Keywords are ASCII; user names and passwords are taken as UTF-8 (what clients send in practice).
        const line = lineBytes.toString('utf8').replace(/\r?\n$/, '');
        await this.handleLine(line);
        // Backpressure for every reply, not only RETR/TOP: the next pipelined command is not even
        // looked at until the client has taken this answer, so a client that never reads holds at
        // most one reply in our memory, however many commands it sends (RFC 2449 §6.6 allows the
        // server to process pipelined commands at its own pace).
        await this.waitForClient();
      }
    } catch (error) {
      this.logger.error('pop3.internal-error', { error });
      this.reply('-ERR [SYS/TEMP] internal error');
      this.end();
    } finally {
      this.processing = false;
      this.watchPartialLine();
      if (this.input.length <= this.limits.maxBufferedInput && this.socket.isPaused() && this.state !== 'closed') this.socket.resume();
    }
  }

  /** Counts a bad command; true when the connection is being closed for too many. */
  private countBadCommand(): boolean {
    this.badCommands += 1;
    if (this.badCommands < this.limits.maxBadCommands) return false;
    this.reply('-ERR too many bad commands, closing');
    this.end();
    return true;
  }

  private bad(message: string): void {
    this.reply(`-ERR ${message}`);
    this.countBadCommand();
  }

  // ---- commands ----

  private async handleLine(line: string): Promise<void> {
    if (this.awaitingPlainResponse) {
      this.awaitingPlainResponse = false;
      await this.finishPlain(line);
      return;
    }
    const space = line.indexOf(' ');
    const keyword = (space === -1 ? line : line.slice(0, space)).toUpperCase();
    const argument = space === -1 ? '' : line.slice(space + 1);
    const args = argument.split(' ').filter((part) => part.length > 0);

    if (keyword === 'QUIT') return this.quit();
    if (keyword === 'NOOP' && this.state === 'transaction') return this.reply('+OK');
    if (keyword === 'CAPA') return this.capa();

    if (this.state === 'authorization') {
      switch (keyword) {
        case 'STLS':
          return this.startTls();
        case 'USER':
          return this.userCommand(args);
        case 'PASS':
          return this.passCommand(argument);
        case 'AUTH':
          return this.authCommand(args);
        case 'STAT': case 'LIST': case 'UIDL': case 'RETR': case 'TOP': case 'DELE': case 'RSET': case 'NOOP': case 'APOP':
          return this.bad(keyword === 'APOP' ? 'APOP is not supported' : 'not allowed before login');
        default:
          return this.bad('unknown command');
      }
    }
    switch (keyword) {
      case 'STAT':
        return this.stat(args);
      case 'LIST':
        return this.scanListing(args, 'LIST');
      case 'UIDL':
        return this.scanListing(args, 'UIDL');
      case 'RETR':
        return this.retrieve(args, undefined);
      case 'TOP':
        return this.top(args);
      case 'DELE':
        return this.dele(args);
      case 'RSET':
        return this.rset(args);
      case 'STLS': case 'USER': case 'PASS': case 'AUTH': case 'APOP':
        return this.bad('not allowed after login');
      default:
        return this.bad('unknown command');
    }
  }

  private plaintextAuthAllowed(): boolean {
    return this.secure || (this.context.options.plaintextAuthOnLoopback !== false && isLoopback(this.remoteAddress));
  }

  /** RFC 2449 §5: what we can do in the current state. */
  private capa(): void {
    const lines = ['+OK capability list follows', 'TOP', 'UIDL', 'RESP-CODES', 'AUTH-RESP-CODE', 'PIPELINING'];
    if (this.state === 'authorization') {
      if (this.plaintextAuthAllowed()) lines.push('USER', 'SASL PLAIN');
      // RFC 2595 §4: STLS only in AUTHORIZATION and never once TLS is up.
      if (this.context.secureContext !== undefined && !this.secure) lines.push('STLS');
    }
    lines.push('IMPLEMENTATION Sigill', '.');
    this.reply(lines.join('\r\n'));
  }

  private startTls(): void {
    if (this.context.secureContext === undefined) return this.bad('STLS not available');
    if (this.secure) return this.bad('TLS already active');
    this.reply('+OK begin TLS negotiation');
    // RFC 2595 §4 and the STARTTLS command-injection attacks: whatever the client pipelined after STLS
    // arrived in plaintext and must never be executed inside the TLS session.
    this.input = Buffer.alloc(0);
    this.user = undefined;
    this.raw.removeListener('data', this.onData);
    this.raw.setTimeout(0);
    const tlsSocket = new TLSSocket(this.raw, { isServer: true, secureContext: this.context.secureContext });
    tlsSocket.on('error', (error) => {
      this.logger.warn('pop3.tls-error', { error });
      this.destroy();
    });
    tlsSocket.once('secure', () => {
      this.secure = true;
      this.socket = tlsSocket;
      this.logger.info('pop3.tls', { protocol: tlsSocket.getProtocol() ?? undefined });
    });
    this.socket = tlsSocket;
    this.watch(tlsSocket);
  }

  private userCommand(args: string[]): void {
    if (!this.plaintextAuthAllowed()) return this.refusePlaintext();
    const name = args[0];
    if (args.length !== 1 || name === undefined) return this.bad('USER needs one argument');
    this.user = name;
    // Same answer for every name: the server does not tell which users exist.
    this.reply('+OK send PASS');
  }

  private refusePlaintext(): void {
    // RFC 2595 §2.1 / RFC 3206 [AUTH]: no cleartext passwords without TLS off loopback.
    this.reply('-ERR [AUTH] plaintext authentication requires STLS first');
    this.countBadCommand();
  }

  private async passCommand(password: string): Promise<void> {
    if (!this.plaintextAuthAllowed()) return this.refusePlaintext();
    const user = this.user;
    this.user = undefined;
    if (user === undefined) return this.bad('send USER first');
    await this.login(user, password, 'USER/PASS');
  }

  private async authCommand(args: string[]): Promise<void> {
    const mechanism = args[0]?.toUpperCase();
    if (mechanism === undefined) {
      // Not in RFC 5034, but widely answered: the list of mechanisms.
      return this.reply(this.plaintextAuthAllowed() ? '+OK\r\nPLAIN\r\n.' : '+OK\r\n.');
    }
    if (mechanism !== 'PLAIN' || args.length > 2) return this.bad('unsupported SASL mechanism (only PLAIN)');
    if (!this.plaintextAuthAllowed()) return this.refusePlaintext();
    const initial = args[1];
    if (initial === undefined) {
      this.awaitingPlainResponse = true;
      this.reply('+ ');
      return;
    }
    await this.finishPlain(initial === '=' ? '' : initial);
  }

  /** RFC 4616: [authzid] NUL authcid NUL passwd, base64; "*" cancels (RFC 5034 §4). */
  private async finishPlain(response: string): Promise<void> {
    if (response === '*') return this.reply('-ERR [AUTH] authentication cancelled');
    if (!/^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/.test(response)) {
      return this.bad('[AUTH] invalid base64 in AUTH PLAIN response');
    }
    const parts = Buffer.from(response, 'base64').toString('utf8').split('\0');
    const [authzid, authcid, password] = parts;
    if (parts.length !== 3 || authcid === undefined || password === undefined || authcid === '') {
      return this.bad('[AUTH] malformed PLAIN message');
    }
    if (authzid !== undefined && authzid !== '' && authzid.toLowerCase() !== authcid.toLowerCase()) {
      return this.failedLogin(authcid, 'authorization identity differs', '-ERR [AUTH] cannot act as another user');
    }
    await this.login(authcid, password, 'AUTH PLAIN');
  }

  private async login(username: string, password: string, method: string): Promise<void> {
    let result: AuthResult;
    try {
      result = await this.context.options.authenticator.authenticate({ username, password, remoteAddress: this.remoteAddress, protocol: 'pop3' });
    } catch (error) {
      this.logger.error('pop3.auth-error', { error });
      return this.reply('-ERR [SYS/TEMP] authentication unavailable');
    }
    if (this.isClosed()) return;
    if (!result.ok) {
      if (result.reason === 'throttled') {
        this.logger.warn('pop3.auth-throttled', { user: username, method });
        this.reply('-ERR [SYS/TEMP] too many login attempts from your address; try again later');
        return this.end();
      }
      return this.failedLogin(username, result.reason, '-ERR [AUTH] invalid user name or password');
    }
    const lock = await this.context.options.store.lock(result.address);
    if (this.isClosed()) {
      await lock?.release();
      return;
    }
    if (lock === undefined) {
      this.logger.info('pop3.in-use', { user: result.address });
      return this.reply('-ERR [IN-USE] mailbox is locked by another session');
    }
    this.lock = lock;
    this.address = result.address;
    this.messages = await this.context.options.store.list(result.address);
    this.state = 'transaction';
    const octets = this.messages.reduce((sum, message) => sum + message.size, 0);
    this.logger.info('pop3.login', { user: result.address, method, messages: this.messages.length, tls: this.secure });
    this.reply(`+OK maildrop locked and ready, ${counted(this.messages.length, 'message')} (${counted(octets, 'octet')})`);
  }

  private failedLogin(username: string, reason: string, reply: string): void {
    this.authFailures += 1;
    this.logger.warn('pop3.auth-failed', { user: username, reason, failures: this.authFailures });
    if (this.authFailures >= this.limits.maxAuthFailures) {
      this.reply(`${reply}; too many failures, closing`);
      this.end();
      return;
    }
    this.reply(reply);
  }

  /** Resolves a message-number argument, or answers -ERR and returns undefined. */
  private message(argument: string | undefined): { index: number; message: StoredMessage } | undefined {
    if (argument === undefined || !MESSAGE_NUMBER.test(argument)) {
      this.bad('invalid message number');
      return undefined;
    }
    const index = Number(argument) - 1;
    const message = this.messages[index];
    if (message === undefined) {
      this.reply('-ERR no such message');
      return undefined;
    }
    if (this.deleted.has(index)) {
      this.reply(`-ERR message ${argument} already deleted`);
      return undefined;
    }
    return { index, message };
  }

  private stat(args: string[]): void {
    if (args.length !== 0) return this.bad('STAT takes no argument');
    let count = 0;
    let octets = 0;
    for (const [index, message] of this.messages.entries()) {
      if (this.deleted.has(index)) continue;
      count += 1;
      octets += message.size;
    }
    this.reply(`+OK ${count} ${octets}`);
  }

  /** LIST (RFC 1939 §5) and UIDL (§7): one message, or a multi-line listing of the undeleted ones. */
  private async scanListing(args: string[], command: 'LIST' | 'UIDL'): Promise<void> {
    const value = (message: StoredMessage): string => (command === 'LIST' ? String(message.size) : message.uidl);
    if (args.length > 1) return this.bad(`${command} takes at most one argument`);
    if (args.length === 1) {
      const found = this.message(args[0]);
      if (found !== undefined) this.reply(`+OK ${found.index + 1} ${value(found.message)}`);
      return;
    }
    // Written in slices with backpressure: a mailbox of 100,000 messages is a reply of megabytes.
    let lines = [command === 'LIST' ? `+OK ${counted(this.messages.length - this.deleted.size, 'message')}` : '+OK unique-id listing follows'];
    for (const [index, message] of this.messages.entries()) {
      if (this.deleted.has(index)) continue;
      lines.push(`${index + 1} ${value(message)}`);
      if (lines.length >= LISTING_SLICE_LINES) {
        this.reply(lines.join('\r\n'));
        lines = [];
        await this.waitForClient();
        if (this.isClosed()) return;
      }
    }
    lines.push('.');
    this.reply(lines.join('\r\n'));
  }

  private async top(args: string[]): Promise<void> {
    if (args.length !== 2 || !LINE_COUNT.test(args[1] ?? '')) return this.bad('usage: TOP msg n');
    await this.retrieve(args.slice(0, 1), Number(args[1]));
  }

  /** RETR (RFC 1939 §5) and TOP (§7), streamed with byte-stuffing and backpressure. */
  private async retrieve(args: string[], bodyLines: number | undefined): Promise<void> {
    if (bodyLines === undefined && args.length !== 1) return this.bad('usage: RETR msg');
    const found = this.message(args[0]);
    if (found === undefined) return;
    let stream;
    try {
      stream = await this.context.options.store.readStream(this.address, found.message.id);
    } catch (error) {
      this.logger.error('pop3.read-failed', { error, id: found.message.id });
      return this.reply('-ERR [SYS/TEMP] message cannot be read');
    }
    const socket = this.socket;
    this.reply(bodyLines === undefined ? `+OK ${counted(found.message.size, 'octet')}` : '+OK top of message follows');
    const encoder = new MultilineEncoder({ bodyLines });
    try {
      for await (const chunk of stream) {
        if (socket.destroyed || this.state === 'closed') return;
        const out = encoder.push(chunk as Buffer);
        if (out.length > 0 && !socket.write(out)) await this.drained(socket);
        if (encoder.done) break;
      }
    } finally {
      stream.destroy();
    }
    if (!socket.destroyed) socket.write(encoder.finish());
  }

  /** Waits while the socket's own buffer is full (the client is not reading). */
  private async waitForClient(): Promise<void> {
    const socket = this.socket;
    if (!socket.writableNeedDrain || socket.destroyed) return;
    if (!this.loggedBackpressure) {
      this.loggedBackpressure = true;
      this.logger.info('pop3.backpressure', { buffered: socket.writableLength });
    }
    await this.drained(socket);
  }

  private drained(socket: Socket): Promise<void> {
    return new Promise((resolve) => {
      const done = (): void => {
        socket.off('drain', done);
        socket.off('close', done);
        resolve();
      };
      socket.on('drain', done);
      socket.on('close', done);
    });
  }

  private dele(args: string[]): void {
    if (args.length !== 1) return this.bad('usage: DELE msg');
    const found = this.message(args[0]);
    if (found === undefined) return;
    this.deleted.add(found.index);
    this.reply(`+OK message ${found.index + 1} marked for deletion`);
  }

  private rset(args: string[]): void {
    if (args.length !== 0) return this.bad('RSET takes no argument');
    this.deleted.clear();
    this.reply(`+OK ${counted(this.messages.length, 'message')}`);
  }

  /** QUIT: in TRANSACTION it enters UPDATE (RFC 1939 §6) and removes the marked messages. */
  private async quit(): Promise<void> {
    if (this.state !== 'transaction') {
      this.reply(`+OK ${this.context.options.hostname} closing`);
      return this.end();
    }
    this.state = 'update';
    const ids = [...this.deleted].map((index) => this.messages[index]?.id).filter((id): id is string => id !== undefined);
    try {
      await this.context.options.store.remove(this.address, ids);
      this.logger.info('pop3.update', { user: this.address, deleted: ids.length });
      this.reply(`+OK ${this.context.options.hostname} closing (${counted(ids.length, 'message')} deleted)`);
    } catch (error) {
      this.logger.error('pop3.update-failed', { error });
      this.reply('-ERR [SYS/TEMP] some deleted messages not removed');
    }
    const lock = this.lock;
    this.lock = undefined;
    await lock?.release();
    this.end();
  }
}

export async function startPop3Server(options: Pop3ServerOptions): Promise<Pop3Server> {
  const limits = { ...DEFAULT_LIMITS, ...options.limits };
  const secureContext = options.tls;
  const sessions = new Set<Pop3Session>();
  const perClient = new Map<string, number>();
  // Stress mode (as Postfix's): near the connection limit, new sessions get a short idle timeout.
  let connected = 0;
  const stressed = (): boolean => connected >= Math.ceil(limits.maxConnections * STRESS_THRESHOLD);
  const context: ServerContext = {
    options,
    limits,
    secureContext,
    idleTimeoutMs: () => (stressed() ? Math.min(limits.idleTimeoutMs, limits.stressIdleTimeoutMs) : limits.idleTimeoutMs),
  };

  const server: Server = createServer((socket) => {
    const refuse = (reason: string, reply: string): void => {
      options.logger.warn('pop3.connect.refused', { remote: socket.remoteAddress, reason });
      socket.on('error', () => undefined);
      socket.end(`${reply}\r\n`);
    };
    if (sessions.size >= limits.maxConnections) return refuse('too many connections', '-ERR [SYS/TEMP] too many connections, try again later');
    const client = clientKey(socket.remoteAddress ?? '');
    const fromClient = perClient.get(client) ?? 0;
    if (fromClient >= limits.maxConnectionsPerClient) {
      return refuse('too many connections from this client', '-ERR [SYS/TEMP] too many connections from your address, try again later');
    }
    perClient.set(client, fromClient + 1);
    connected += 1; // before the session arms its idle timeout, so that it counts itself
    const session = new Pop3Session(socket, context);
    sessions.add(session);
    void session.closed.then(() => {
      connected -= 1;
      sessions.delete(session);
      const left = (perClient.get(client) ?? 1) - 1;
      if (left > 0) perClient.set(client, left);
      else perClient.delete(client);
    });
  });

  const address = await listenOn(server, options.listen);
  server.on('error', (error) => options.logger.error('pop3.server-error', { error }));
  options.logger.info('pop3.listening', { address: formatHostPort(address), tls: secureContext !== undefined });

  return {
    address,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      const ended = [...sessions].map((session) => session.closed);
      for (const session of sessions) session.destroy();
      await Promise.all(ended);
      await closed;
    },
  };
}
