/**
 * A read-only HTTP view of what the relay stores: mailboxes, messages (raw bytes exactly as stored) and
 * the spool queue, as JSON and as two small HTML pages. It never changes anything (GET and HEAD only).
 *
 * Access, wherever it listens (a mail store is private, also from other local users and from web
 * pages in a browser on the same machine):
 * - `Host` must be a loopback IP literal, `localhost`, or a configured name: a DNS-rebinding page,
 *   whose requests carry its own host name, is refused before anything else.
 * - Every request carries the token: `Authorization: Bearer <token>` (RFC 6750 §2.1), or a cookie set
 *   after the token came once as `?token=` in a URL (as Jupyter does): that request is answered with
 *   a redirect to the same URL without the token and an HttpOnly, SameSite=Strict cookie, so the
 *   token leaves the address bar and no other site can make the browser send it. Compared in
 *   constant time.
 *
 * The HTML pages are static: every stored byte is HTML-escaped and a Content-Security-Policy of
 * default-src 'none' forbids scripts, styles, images and frames, so a hostile message cannot run or
 * load anything in the viewer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { pipeline } from 'node:stream/promises';
import type { Logger } from '../log.ts';
import { counted } from '../message.ts';
import { isValidMessageId, MailboxError, normaliseAddress, type MailboxStore, type StoredMessage } from '../mailbox.ts';
import { isIP } from 'node:net';
import { formatHostPort, isLoopback, listenOn, type ListenAddress } from '../network.ts';
import type { SpoolReader } from '../spool/index.ts';
import { httpTokenProblem } from '../config.ts';

export interface HttpViewOptions {
  /** Port 0 picks a free one. */
  listen: ListenAddress;
  store: MailboxStore;
  /** The queue, read-only; without it /api/queue answers 404. */
  spool?: SpoolReader;
  logger: Logger;
  /** The secret every request must carry (at least 16 printable ASCII characters). */
  token: string;
  /** Names (or IP literals) accepted in `Host` besides loopback literals and `localhost`. */
  allowedHosts?: string[];
}

export interface HttpView {
  /** The address actually listened on. */
  address: ListenAddress;
  close(): Promise<void>;
}

export interface QueueEntryView {
  entryId: string;
  size: number;
  sender: string;
  createdAt: string;
  recipients: { recipient: string; attempts: number; nextAttemptAt: string; lastError?: string }[];
}

const MAX_URL_LENGTH = 2048;
/** The HTML message page shows at most this much of the source; /raw always has all of it. */
const MAX_HTML_SOURCE = 2 * 1024 * 1024;

const SECURITY_HEADERS: Record<string, string> = {
  'Content-Security-Policy': "default-src 'none'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'",
  'X-Content-Type-Options': 'nosniff',
  'X-Frame-Options': 'DENY',
  'Referrer-Policy': 'no-referrer',
  'Cache-Control': 'no-store',
};

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (char) => `&#${char.charCodeAt(0)};`);
}

/** C0 controls other than TAB, LF and CR (and DEL) shown as Unicode control pictures (U+2400...). */
function showControlCharacters(text: string): string {
  // eslint-disable-next-line no-control-regex
  return text.replace(/[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]/g, (char) => String.fromCharCode(char === '\x7f' ? 0x2421 : 0x2400 + char.charCodeAt(0)));
}

function digest(text: string): Buffer {
  return createHash('sha256').update(text).digest();
}

/** Splits the path into decoded segments; dot segments, NUL and undecodable escapes are refused. */
function pathSegments(url: string): string[] {
  if (url.length > MAX_URL_LENGTH) throw new HttpError(414, 'URL too long');
  if (!url.startsWith('/')) throw new HttpError(400, 'bad request target');
  const path = url.split(/[?#]/, 1)[0] ?? '/';
  const segments = path.split('/').slice(1);
  if (segments.at(-1) === '' && segments.length > 1) segments.pop(); // a trailing slash
  return segments.map((segment) => {
    let decoded: string;
    try {
      decoded = decodeURIComponent(segment);
    } catch {
      throw new HttpError(400, 'bad percent-encoding in path');
    }
    if (decoded === '.' || decoded === '..' || decoded.includes('\0') || decoded.includes('/') || decoded.includes('\\')) {
      throw new HttpError(400, 'path segment not allowed');
    }
    return decoded;
  });
}

/** The host of a Host header (`name`, `name:port`, `[v6]:port`), lower-case, without a trailing dot. */
function hostOf(header: string | undefined): string | undefined {
  const match = /^(?:\[([0-9a-fA-F:.]+)\]|([^:[\]\s]+))(?::\d{1,5})?$/.exec(header?.trim() ?? '');
  const host = (match?.[1] ?? match?.[2])?.toLowerCase().replace(/\.$/, '');
  return host === '' ? undefined : host;
}

/** One cookie's value from a Cookie header (RFC 6265 §5.4), percent-decoded. */
function cookieValue(header: string | undefined, name: string): string | undefined {
  for (const pair of (header ?? '').split(';')) {
    const equals = pair.indexOf('=');
    if (equals === -1 || pair.slice(0, equals).trim() !== name) continue;
    try {
      return decodeURIComponent(pair.slice(equals + 1).trim());
    } catch {
      return undefined;
    }
  }
  return undefined;
}

function addressParameter(value: string): string {
  try {
    return normaliseAddress(value);
  } catch {
    throw new HttpError(400, 'not a valid mailbox address');
  }
}

function idParameter(value: string): string {
  if (!isValidMessageId(value)) throw new HttpError(400, 'not a valid message id');
  return value;
}

class HttpViewHandler {
  private readonly spool: SpoolReader | undefined;
  private readonly tokenDigest: Buffer;

  constructor(private readonly options: HttpViewOptions) {
    this.tokenDigest = digest(options.token);
    this.spool = options.spool;
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<number> {
    try {
      this.checkHost(request); // first: a rebinding page learns nothing, not even the methods
      if (request.method !== 'GET' && request.method !== 'HEAD') {
        response.setHeader('Allow', 'GET, HEAD');
        throw new HttpError(405, 'this view is read-only: GET and HEAD only');
      }
      if (this.checkToken(request, response)) return response.statusCode;
      const segments = pathSegments(request.url ?? '/');
      await this.route(segments, response);
      return response.statusCode;
    } catch (error) {
      if (response.headersSent) {
        response.destroy();
        return response.statusCode;
      }
      const status = error instanceof HttpError ? error.status : 500;
      const message = error instanceof HttpError ? error.message : 'internal error';
      if (!(error instanceof HttpError)) this.options.logger.error('http.internal-error', { error });
      if (status === 401) response.setHeader('WWW-Authenticate', 'Bearer realm="sigill-relay"'); // RFC 6750 §3
      this.sendJson(response, status, { error: message });
      return status;
    }
  }

  /** RFC 9110 §7.2: the Host header names the target; only ours are served (DNS rebinding). */
  private checkHost(request: IncomingMessage): void {
    const host = hostOf(request.headers.host);
    const allowed =
      host !== undefined &&
      (host === 'localhost' || (isIP(host) !== 0 && isLoopback(host)) || (this.options.allowedHosts ?? []).includes(host));
    if (!allowed) throw new HttpError(403, 'this Host is not served here');
  }

  /**
   * The token from the Authorization header, the cookie, or the URL. A URL token is answered with a
   * redirect that sets the cookie; returns true when that redirect was sent.
   */
  private checkToken(request: IncomingMessage, response: ServerResponse): boolean {
    const cookieName = `sigill-relay-${request.socket.localPort ?? 0}`;
    const bearer = /^Bearer ([\x21-\x7e]+)$/.exec(request.headers.authorization ?? '')?.[1];
    if (bearer !== undefined) {
      if (this.matches(bearer)) return false;
      throw new HttpError(401, 'a valid token is required');
    }
    const url = new URL(request.url ?? '/', 'http://view.invalid');
    const fromUrl = url.searchParams.get('token');
    if (fromUrl !== null) {
      if (!this.matches(fromUrl)) throw new HttpError(401, 'a valid token is required');
      url.searchParams.delete('token');
      const location = `${url.pathname}${url.search}`;
      // Only ever a path on this server ("//host/..." would be another site's URL).
      if (!(request.url ?? '').startsWith('/') || /^[/\\]{2}/.test(location)) throw new HttpError(400, 'bad request target');
      response.writeHead(303, {
        ...SECURITY_HEADERS,
        Location: location,
        'Set-Cookie': `${cookieName}=${encodeURIComponent(this.options.token)}; Path=/; HttpOnly; SameSite=Strict`,
        'Content-Length': '0',
      });
      response.end();
      return true;
    }
    const cookie = cookieValue(request.headers.cookie, cookieName);
    if (cookie !== undefined && this.matches(cookie)) return false;
    throw new HttpError(401, 'a valid token is required (Authorization: Bearer, or open the URL with ?token= once)');
  }

  /** Compares digests: equal length, constant time, whatever the client sent. */
  private matches(candidate: string): boolean {
    return timingSafeEqual(digest(candidate), this.tokenDigest);
  }

  private async route(segments: string[], response: ServerResponse): Promise<void> {
    const [first, second, third, fourth, fifth, sixth] = segments;
    const count = segments.length;
    if (count === 1 && first === '') return this.indexPage(response);
    if (first === 'messages' && count === 3) return this.messagePage(response, addressParameter(second ?? ''), idParameter(third ?? ''));
    if (first !== 'api') throw new HttpError(404, 'not found');
    if (second === 'queue' && count === 2) return this.sendJson(response, 200, await this.queue());
    if (second !== 'mailboxes') throw new HttpError(404, 'not found');
    if (count === 2) return this.sendJson(response, 200, await this.mailboxSummaries());
    if (count === 4 && fourth === 'messages') {
      const address = await this.existingMailbox(third ?? '');
      const messages = await this.options.store.list(address);
      return this.sendJson(response, 200, messages.map((message) => ({ id: message.id, size: message.size, received: message.received.toISOString() })));
    }
    if (count === 6 && fourth === 'messages' && sixth === 'raw') return this.raw(response, addressParameter(third ?? ''), idParameter(fifth ?? ''));
    throw new HttpError(404, 'not found');
  }

  private async existingMailbox(value: string): Promise<string> {
    const address = addressParameter(value);
    if (!(await this.options.store.mailboxes()).includes(address)) throw new HttpError(404, 'no such mailbox');
    return address;
  }

  private async mailboxSummaries(): Promise<{ address: string; messages: number }[]> {
    const summaries = [];
    for (const address of await this.options.store.mailboxes()) {
      summaries.push({ address, messages: (await this.options.store.list(address)).length });
    }
    return summaries;
  }

  private async raw(response: ServerResponse, address: string, id: string): Promise<void> {
    let stream;
    let size: number | undefined;
    try {
      size = (await this.options.store.info(address, id))?.size;
      stream = await this.options.store.readStream(address, id);
    } catch (error) {
      if (error instanceof MailboxError) throw new HttpError(error.code === 'NOT_FOUND' ? 404 : 400, error.message);
      throw error;
    }
    response.writeHead(200, {
      ...SECURITY_HEADERS,
      // The stored bytes are never rendered by the browser as a page.
      'Content-Security-Policy': "default-src 'none'; sandbox",
      'Content-Type': 'message/rfc822',
      'Content-Disposition': `attachment; filename="${id}.eml"`,
      ...(size === undefined ? {} : { 'Content-Length': String(size) }),
    });
    if (response.req.method === 'HEAD') {
      stream.destroy();
      response.end();
      return;
    }
    await pipeline(stream, response);
  }

  /** What waits in the spool, read from its files without changing them (see spool/index.ts). */
  private async queue(): Promise<QueueEntryView[]> {
    if (this.spool === undefined) throw new HttpError(404, 'no spool configured');
    const time = (value: number): string => (Number.isFinite(value) ? new Date(value).toISOString() : '');
    return (await this.spool.entries()).map((entry) => ({
      entryId: entry.entryId,
      size: entry.size,
      sender: entry.sender,
      createdAt: time(entry.createdAt),
      recipients: entry.records.map((record) => ({
        recipient: record.recipient,
        attempts: record.attempts,
        nextAttemptAt: time(record.nextAttemptAt),
        ...(record.lastError === undefined ? {} : { lastError: record.lastError }),
      })),
    }));
  }

  private async indexPage(response: ServerResponse): Promise<void> {
    const sections: string[] = [];
    for (const address of await this.options.store.mailboxes()) {
      const messages = await this.options.store.list(address);
      const rows = messages.map((message) => this.messageRow(address, message)).join('\n');
      sections.push(
        `<h2>${escapeHtml(address)} (${counted(messages.length, 'message')})</h2>\n` +
          (messages.length === 0 ? '<p>empty</p>' : `<table>\n<tr><th>id</th><th>octets</th><th>received</th></tr>\n${rows}\n</table>`),
      );
    }
    const queue = this.spool === undefined ? undefined : await this.queue();
    const queueLine = queue === undefined ? '' : `<p>Spool queue: ${counted(queue.length, 'message')} waiting (<a href="/api/queue">JSON</a>).</p>\n`;
    this.sendHtml(
      response,
      'Sigill relay: stored mail',
      `<h1>What this relay stores</h1>\n${queueLine}${sections.length === 0 ? '<p>No mailboxes yet.</p>' : sections.join('\n')}`,
    );
  }

  private messageRow(address: string, message: StoredMessage): string {
    const href = `/messages/${encodeURIComponent(address)}/${encodeURIComponent(message.id)}`;
    return `<tr><td><a href="${escapeHtml(href)}">${escapeHtml(message.id)}</a></td><td>${message.size}</td><td>${message.received.toISOString()}</td></tr>`;
  }

  private async messagePage(response: ServerResponse, address: string, id: string): Promise<void> {
    let bytes: Uint8Array;
    try {
      bytes = await this.options.store.read(address, id);
    } catch (error) {
      if (error instanceof MailboxError) throw new HttpError(error.code === 'NOT_FOUND' ? 404 : 400, error.message);
      throw error;
    }
    const truncated = bytes.length > MAX_HTML_SOURCE;
    const source = new TextDecoder('utf-8', { fatal: false }).decode(bytes.subarray(0, MAX_HTML_SOURCE));
    const raw = `/api/mailboxes/${encodeURIComponent(address)}/messages/${encodeURIComponent(id)}/raw`;
    this.sendHtml(
      response,
      `Message ${id}`,
      `<p><a href="/">all mailboxes</a></p>\n<h1>${escapeHtml(address)}: ${escapeHtml(id)}</h1>\n` +
        `<p>${counted(bytes.length, 'octet')} exactly as stored (<a href="${escapeHtml(raw)}">raw</a>)${truncated ? '; only the first 2 MiB are shown here' : ''}.</p>\n` +
        `<pre>${escapeHtml(showControlCharacters(source))}</pre>`,
    );
  }

  private sendHtml(response: ServerResponse, title: string, body: string): void {
    const html = `<!DOCTYPE html>\n<html lang="en">\n<head>\n<meta charset="utf-8">\n<title>${escapeHtml(title)}</title>\n</head>\n<body>\n${body}\n</body>\n</html>\n`;
    this.send(response, 200, 'text/html; charset=utf-8', html);
  }

  private sendJson(response: ServerResponse, status: number, value: unknown): void {
    this.send(response, status, 'application/json; charset=utf-8', `${JSON.stringify(value)}\n`);
  }

  private send(response: ServerResponse, status: number, contentType: string, body: string): void {
    const payload = Buffer.from(body, 'utf8');
    response.writeHead(status, { ...SECURITY_HEADERS, 'Content-Type': contentType, 'Content-Length': String(payload.length) });
    response.end(response.req.method === 'HEAD' ? undefined : payload);
  }
}

export async function startHttpView(options: HttpViewOptions): Promise<HttpView> {
  const problem = httpTokenProblem(options.token);
  if (problem !== undefined) throw new Error(`http view: the token ${problem}`);
  const handler = new HttpViewHandler(options);
  const logger = options.logger.child({ listener: 'http' });
  const server = createServer({ maxHeaderSize: 16 * 1024, requestTimeout: 30_000 }, (request, response) => {
    void handler.handle(request, response).then((status) => {
      logger.info('http.request', { method: request.method, path: (request.url ?? '').slice(0, 200), status, remote: request.socket.remoteAddress });
    });
  });
  const address = await listenOn(server, options.listen);
  server.on('error', (error) => logger.error('http.server-error', { error }));
  logger.info('http.listening', { address: formatHostPort(address) });
  return {
    address,
    close: async () => {
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await closed;
    },
  };
}
