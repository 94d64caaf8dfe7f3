/**
 * Runs the real `bin/sigill relay --config FILE` on free loopback ports and reads what it stored
 * through its read-only HTTP view, which requires the random token written into that config
 * (sent as `Authorization: Bearer`, RFC 6750 §2.1).
 */
import { randomBytes } from 'node:crypto';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { UserConfig } from '../relay/auth.ts';
import type { ListeningInfo } from '../relay/server.ts';
import type { Processes, Started } from './processes.ts';
import { repoRoot } from './paths.ts';

/** A mailbox user as the relay's config file takes it, with a plaintext password (hashed by the relay at load). */
export type RelayUser = Required<Pick<UserConfig, 'address' | 'password'>>;

/** The relay's `listening` line, with every listener present (the test-bed configures all four). */
export interface Listening extends ListeningInfo {
  submission: string;
  smtp: string;
  pop3: string;
  http: string;
}

export interface StoredMessage {
  id: string;
  size: number;
  received: string;
}

export class Relay {
  private constructor(
    readonly listening: Listening,
    readonly process: Started,
    private readonly processes: Processes,
    private readonly httpToken: string,
  ) {}

  /** Starts the relay; `dir` receives config.json and the data dir, its log goes to `logFile`. */
  static async start(processes: Processes, options: { dir: string; users: RelayUser[]; logFile: string; domain?: string; messageSize?: number }): Promise<Relay> {
    const domain = options.domain ?? 'sigill.test';
    const dataDir = join(options.dir, 'data');
    mkdirSync(dataDir, { recursive: true });
    const httpToken = randomBytes(32).toString('base64url');
    const config = {
      hostname: `mx.${domain}`,
      domains: [domain],
      users: options.users.map(({ address, password }) => ({ address, password })),
      listen: { submission: '127.0.0.1:0', smtp: '127.0.0.1:0', pop3: '127.0.0.1:0', http: '127.0.0.1:0' },
      http: { token: httpToken },
      dataDir,
      // Larger messages than the relay's default (25 MiB) for scenarios with big attachments.
      ...(options.messageSize === undefined ? {} : { limits: { messageSize: options.messageSize } }),
    };
    const configFile = join(options.dir, 'relay-config.json');
    writeFileSync(configFile, JSON.stringify(config, null, 2), { mode: 0o600 }); // passwords and the token
    const started = processes.start('relay', process.execPath, [join(repoRoot, 'bin', 'sigill'), 'relay', '--config', configFile], {
      cwd: repoRoot,
      logFile: options.logFile,
      pipeStdout: true,
    });
    const listening = await readListening(started, options.logFile);
    return new Relay(listening, started, processes, httpToken);
  }

  get httpUrl(): string {
    return `http://${this.listening.http}`;
  }

  async mailboxes(): Promise<{ address: string; messages: number }[]> {
    return (await this.getJson('/api/mailboxes')) as { address: string; messages: number }[];
  }

  /** The messages stored for an address (none while its mailbox does not exist yet). */
  async messages(address: string): Promise<StoredMessage[]> {
    const response = await this.get(`/api/mailboxes/${encodeURIComponent(address)}/messages`);
    if (response.status === 404) return [];
    if (!response.ok) throw new Error(`relay HTTP view: ${response.status} for ${address}'s messages`);
    return (await response.json()) as StoredMessage[];
  }

  /** The message exactly as the relay stored it. */
  async raw(address: string, id: string): Promise<Buffer> {
    const response = await this.get(`/api/mailboxes/${encodeURIComponent(address)}/messages/${encodeURIComponent(id)}/raw`);
    if (!response.ok) throw new Error(`relay HTTP view: ${response.status} for raw ${address}/${id}`);
    return Buffer.from(await response.arrayBuffer());
  }

  /** The HTML page a person would look at for one stored message. */
  async page(address: string, id: string): Promise<string> {
    const response = await this.get(`/messages/${encodeURIComponent(address)}/${encodeURIComponent(id)}`);
    if (!response.ok) throw new Error(`relay HTTP view: ${response.status} for page ${address}/${id}`);
    return response.text();
  }

  /** Copies every stored message into `dir/<address>/<id>.eml`; returns the files written. */
  async saveAll(dir: string): Promise<string[]> {
    const files: string[] = [];
    for (const { address } of await this.mailboxes()) {
      for (const message of await this.messages(address)) {
        const folder = join(dir, address);
        mkdirSync(folder, { recursive: true });
        const file = join(folder, `${message.id.replace(/[^\w.-]/g, '_')}.eml`);
        writeFileSync(file, await this.raw(address, message.id));
        files.push(file);
      }
    }
    return files;
  }

  async stop(): Promise<void> {
    await this.processes.stop(this.process, 10_000);
  }

  /** Every request to the view carries the token: it answers nothing without it. */
  private get(path: string): Promise<Response> {
    return fetch(`${this.httpUrl}${path}`, { headers: { Authorization: `Bearer ${this.httpToken}` } });
  }

  private async getJson(path: string): Promise<unknown> {
    const response = await this.get(path);
    if (!response.ok) throw new Error(`relay HTTP view: ${response.status} for ${path}`);
    return response.json();
  }
}

async function readListening(started: Started, logFile: string): Promise<Listening> {
  const stdout = started.child.stdout;
  if (stdout === null) throw new Error('relay: no stdout');
  const lines = createInterface({ input: stdout });
  const ready = new Promise<Listening>((resolve, reject) => {
    lines.on('line', (line) => {
      try {
        const event = JSON.parse(line) as { event?: string };
        if (event.event === 'listening') resolve(event as Listening);
      } catch {
        // not JSON: ignore
      }
    });
    void started.exited.then((code) => reject(new Error(`relay exited (${code}) before listening; see ${logFile}`)));
    setTimeout(() => reject(new Error(`relay not listening within 60 s; see ${logFile}`)), 60_000).unref();
  });
  return ready;
}
