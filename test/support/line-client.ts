/**
 * A byte-exact line client on a raw socket, for protocol tests that must send what no library client
 * would (pipelining without reading, bare CR/LF, STARTTLS injection): what is written is exactly what
 * goes on the wire, and CRLF-terminated lines come back as latin1 strings (one char per octet).
 */
import { connect as netConnect, type Socket } from 'node:net';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

export interface LineClientOptions {
  host?: string;
  port: number;
  /** Another loopback address (127.0.0.2 ...) plays a second client host. */
  localAddress?: string;
}

export class LineClient {
  private buffer = '';
  private waiters: (() => void)[] = [];
  /** The server closed (or the socket failed). */
  ended = false;
  readonly closed: Promise<void>;
  private resolveClosed: () => void = () => undefined;

  protected constructor(protected socket: Socket) {
    this.closed = new Promise((resolve) => {
      this.resolveClosed = resolve;
    });
    this.attach(socket);
  }

  static async connectSocket(options: LineClientOptions): Promise<Socket> {
    const socket = netConnect({ port: options.port, host: options.host ?? '127.0.0.1', ...(options.localAddress === undefined ? {} : { localAddress: options.localAddress }) });
    await new Promise<void>((resolve, reject) => {
      socket.once('connect', resolve);
      socket.once('error', reject);
    });
    socket.setNoDelay(true);
    return socket;
  }

  private attach(socket: Socket): void {
    socket.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString('latin1');
      this.wake();
    });
    const end = (): void => {
      this.ended = true;
      this.wake();
    };
    socket.on('end', end);
    socket.on('close', () => {
      end();
      this.resolveClosed();
    });
    socket.on('error', end);
  }

  private wake(): void {
    const waiters = this.waiters;
    this.waiters = [];
    for (const wake of waiters) wake();
  }

  /** Writes exactly these bytes (a string as UTF-8); resolves once handed to the socket. */
  write(data: string | Buffer): Promise<void> {
    return new Promise((resolve, reject) => this.socket.write(data, (error) => (error ? reject(error) : resolve())));
  }

  /** A complete line already received, without waiting. */
  takeLine(): string | undefined {
    const index = this.buffer.indexOf('\r\n');
    if (index === -1) return undefined;
    const line = this.buffer.slice(0, index);
    this.buffer = this.buffer.slice(index + 2);
    return line;
  }

  /** The next line (without CRLF); fails when the connection closes first or after `timeoutMs`. */
  async readLine(timeoutMs = 20_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const line = this.takeLine();
      if (line !== undefined) return line;
      if (this.ended) throw new Error(`connection closed (pending: ${JSON.stringify(this.buffer)})`);
      if (Date.now() > deadline) throw new Error('no line in time');
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, Math.max(1, deadline - Date.now()));
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }

  /** Wraps the socket in TLS (after the server agreed to STARTTLS/STLS); unread plaintext is dropped. */
  async upgradeToTls(options: ConnectionOptions = { rejectUnauthorized: false }): Promise<void> {
    const plain = this.socket;
    plain.removeAllListeners('data');
    plain.removeAllListeners('close');
    plain.removeAllListeners('end');
    this.buffer = '';
    const secure = tlsConnect({ servername: 'localhost', ...options, socket: plain });
    await new Promise<void>((resolve, reject) => {
      secure.once('secureConnect', () => resolve());
      secure.once('error', reject);
    });
    this.socket = secure;
    this.attach(secure);
  }

  destroy(): void {
    this.socket.destroy();
  }
}
