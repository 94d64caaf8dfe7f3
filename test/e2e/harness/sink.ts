/**
 * The HTTP sink on loopback: the driver extension in each Thunderbird reports events here and fetches
 * the commands the test queues for it (long polling), then posts the results back.
 *
 *   POST /event/<profile>    the driver's events, JSON (sent as text/plain: no host permission needed)
 *   GET  /command/<profile>  the next command {id, name, args}, or 204 after ~20 s without one
 *   POST /result/<profile>   {id, ok, value | error}
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface DriverEvent {
  profile: string;
  type: string;
  [key: string]: unknown;
}

interface Command {
  id: number;
  name: string;
  args: unknown;
}

interface Pending {
  resolve(value: unknown): void;
  reject(error: Error): void;
}

const LONG_POLL_MS = 20_000;

export class Sink {
  readonly events: DriverEvent[] = [];
  private readonly queues = new Map<string, Command[]>();
  private readonly pollers = new Map<string, ServerResponse>();
  private readonly pending = new Map<number, Pending>();
  private readonly listeners = new Set<() => void>();
  private nextId = 1;

  private readonly server: Server;
  private port = 0;

  private constructor() {
    this.server = createServer((request, response) => {
      this.handle(request, response).catch((error: unknown) => {
        response.writeHead(500).end(String(error));
      });
    });
  }

  static async start(): Promise<Sink> {
    const sink = new Sink();
    await new Promise<void>((resolve) => sink.server.listen(0, '127.0.0.1', resolve));
    sink.port = (sink.server.address() as AddressInfo).port;
    return sink;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Sends a command to a profile's driver and resolves with its result (rejects on error or timeout). */
  call<T = unknown>(profile: string, name: string, args: unknown = {}, timeoutMs = 60_000): Promise<T> {
    const id = this.nextId++;
    const result = new Promise<T>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.pending.delete(id);
        reject(new Error(`driver ${profile}: '${name}' gave no result within ${timeoutMs} ms`));
      }, timeoutMs);
      this.pending.set(id, {
        resolve: (value) => {
          clearTimeout(timer);
          resolve(value as T);
        },
        reject: (error) => {
          clearTimeout(timer);
          reject(error);
        },
      });
    });
    this.queue(profile).push({ id, name, args });
    this.flush(profile);
    return result;
  }

  /** Resolves with the first event (already received or future) that matches. */
  waitForEvent(match: (event: DriverEvent) => boolean, timeoutMs: number, what: string): Promise<DriverEvent> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const found = this.events.find(match);
        if (found === undefined) return false;
        this.listeners.delete(listener);
        clearTimeout(timer);
        resolve(found);
        return true;
      };
      const listener = (): void => void check();
      const timer = setTimeout(() => {
        this.listeners.delete(listener);
        reject(new Error(`no ${what} within ${timeoutMs} ms`));
      }, timeoutMs);
      this.listeners.add(listener);
      check();
    });
  }

  async stop(): Promise<void> {
    for (const response of this.pollers.values()) response.writeHead(204).end();
    this.pollers.clear();
    for (const pending of this.pending.values()) pending.reject(new Error('sink stopped'));
    this.pending.clear();
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private queue(profile: string): Command[] {
    let queue = this.queues.get(profile);
    if (queue === undefined) {
      queue = [];
      this.queues.set(profile, queue);
    }
    return queue;
  }

  private flush(profile: string): void {
    const poller = this.pollers.get(profile);
    const command = this.queue(profile).shift();
    if (command === undefined) return;
    if (poller === undefined || poller.destroyed) {
      if (poller !== undefined) this.pollers.delete(profile);
      this.queue(profile).unshift(command);
      return;
    }
    this.pollers.delete(profile);
    json(poller, 200, command);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const [, kind, profile] = (request.url ?? '').split('/');
    if (request.method === 'OPTIONS') {
      json(response, 204, undefined);
      return;
    }
    if (request.method === 'GET' && kind === 'command' && profile) {
      this.pollers.get(profile)?.writeHead(204).end();
      this.pollers.set(profile, response);
      const timer = setTimeout(() => {
        if (this.pollers.get(profile) !== response) return;
        this.pollers.delete(profile);
        json(response, 204, undefined);
      }, LONG_POLL_MS);
      response.once('close', () => {
        clearTimeout(timer);
        // A driver whose Thunderbird quit (a restart) leaves a dead poll behind: never hand it a command.
        if (this.pollers.get(profile) === response) this.pollers.delete(profile);
      });
      this.flush(profile);
      return;
    }
    if (request.method === 'POST' && profile && (kind === 'event' || kind === 'result')) {
      const body = JSON.parse(await readBody(request)) as Record<string, unknown>;
      json(response, 204, undefined);
      if (kind === 'event') {
        this.events.push({ ...body, profile, type: String(body.type) });
        for (const listener of [...this.listeners]) listener();
        return;
      }
      const pending = this.pending.get(Number(body.id));
      this.pending.delete(Number(body.id));
      if (body.ok === true) pending?.resolve(body.value);
      else pending?.reject(new Error(`driver ${profile}: ${String(body.error)}`));
      return;
    }
    json(response, 404, { error: 'not found' });
  }
}

function json(response: ServerResponse, status: number, body: unknown): void {
  response.writeHead(status, {
    'Access-Control-Allow-Origin': '*',
    'Access-Control-Allow-Headers': 'Content-Type',
    ...(body === undefined ? {} : { 'Content-Type': 'application/json' }),
  });
  response.end(body === undefined ? undefined : JSON.stringify(body));
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    request.on('error', reject);
  });
}
