/**
 * Attachments in scenarios: a loopback server the driver fetches compose attachments from, the leaves of
 * a stored message's MIME tree (to search every decoded part for a canary), and a SHA-256 to compare bytes.
 */
import { createHash } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { MimeEntity } from '../../../src/core/index.ts';

export const sha256 = (data: Buffer): string => createHash('sha256').update(data).digest('hex');

/** Serves the attachments to a driver over loopback (it builds the compose window's Files from them); names are URL-decoded. */
export function fileServer(files: Record<string, Buffer>): Promise<Server> {
  const server = createServer((request, response) => {
    const data = files[decodeURIComponent((request.url ?? '').slice(1))];
    if (data === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'Content-Type': 'application/octet-stream', 'Content-Length': data.length }).end(data);
  });
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve(server)));
}

/** Every leaf part of a parsed message, in order. */
export function mimeLeaves(entity: MimeEntity): MimeEntity[] {
  return entity.children.length === 0 ? [entity] : entity.children.flatMap(mimeLeaves);
}
