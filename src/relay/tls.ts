/**
 * The relay's one TLS context: the certificate and key are read once, checked once (a bad PEM or a
 * key that does not match the certificate is a config error at start, not at the first STARTTLS),
 * and the same SecureContext serves SMTP STARTTLS and POP3 STLS.
 */
import { readFile } from 'node:fs/promises';
import { createSecureContext, type SecureContext } from 'node:tls';
import { RelayConfigError, type TlsFiles } from './config.ts';

export interface TlsCredentials {
  key: Buffer;
  cert: Buffer;
  context: SecureContext;
}

/** From PEM text or bytes; throws (node's error) when they are unusable. */
export function tlsCredentials(pem: { key: string | Buffer; cert: string | Buffer }): TlsCredentials {
  const key = Buffer.from(pem.key);
  const cert = Buffer.from(pem.cert);
  // TLS 1.2 at least (RFC 8996 deprecates 1.0 and 1.1).
  return { key, cert, context: createSecureContext({ key, cert, minVersion: 'TLSv1.2' }) };
}

/** Reads the configured files; every problem is a RelayConfigError naming the field. */
export async function readTlsFiles(files: TlsFiles): Promise<TlsCredentials> {
  const read = async (file: string, field: string): Promise<Buffer> => {
    try {
      return await readFile(file);
    } catch (error) {
      throw new RelayConfigError(field, `cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`);
    }
  };
  const key = await read(files.key, 'tls.key');
  const cert = await read(files.cert, 'tls.cert');
  try {
    return tlsCredentials({ key, cert });
  } catch (error) {
    throw new RelayConfigError('tls', `unusable certificate/key: ${(error as Error).message}`);
  }
}
