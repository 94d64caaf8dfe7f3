/**
 * Structured logging for the relay: one JSON object per line, `{"time","level","event",...fields}`.
 *
 * JSON.stringify escapes every control character, so client-supplied strings (HELO names, addresses,
 * user names) can never forge a second log line. Callers must not pass passwords or message bodies;
 * as a backstop, fields whose name suggests a secret are replaced by "[redacted]".
 */
import type { Writable } from 'node:stream';

export type LogLevel = 'info' | 'warn' | 'error';
export type LogFields = Record<string, unknown>;

export interface Logger {
  info(event: string, fields?: LogFields): void;
  warn(event: string, fields?: LogFields): void;
  error(event: string, fields?: LogFields): void;
  /** A logger that adds `fields` to every line (e.g. `{ listener: 'submission', session: id }`). */
  child(fields: LogFields): Logger;
}

export interface LoggerOptions {
  /** Where the lines go; stderr by default (stdout carries the one `listening` line). */
  stream?: Pick<Writable, 'write'>;
  /** Fields added to every line. */
  base?: LogFields;
}

const SECRET_FIELD = /pass(word)?|secret|token|credential/i;
/** Longest string value written; a client cannot make a log line arbitrarily large. */
const MAX_STRING_LENGTH = 512;

function sanitizeValue(value: unknown): unknown {
  if (typeof value === 'string') {
    return value.length > MAX_STRING_LENGTH ? `${value.slice(0, MAX_STRING_LENGTH)}…` : value;
  }
  if (value instanceof Error) {
    const code = (value as NodeJS.ErrnoException).code;
    return code === undefined ? value.message : `${code}: ${value.message}`;
  }
  return value;
}

function sanitizeFields(fields: LogFields): LogFields {
  const out: LogFields = {};
  for (const [key, value] of Object.entries(fields)) {
    out[key] = SECRET_FIELD.test(key) ? '[redacted]' : sanitizeValue(value);
  }
  return out;
}

export function createLogger(options: LoggerOptions = {}): Logger {
  const stream = options.stream ?? process.stderr;
  const base = sanitizeFields(options.base ?? {});
  const write = (level: LogLevel, event: string, fields: LogFields = {}): void => {
    const line = { time: new Date().toISOString(), level, event, ...base, ...sanitizeFields(fields) };
    try {
      stream.write(`${JSON.stringify(line)}\n`);
    } catch {
      // A closed stderr must never take the relay down.
    }
  };
  return {
    info: (event, fields) => write('info', event, fields),
    warn: (event, fields) => write('warn', event, fields),
    error: (event, fields) => write('error', event, fields),
    child: (fields) => createLogger({ stream, base: { ...base, ...fields } }),
  };
}

/** A logger that writes nothing (tests, library use). */
export function silentLogger(): Logger {
  const logger: Logger = { info: () => {}, warn: () => {}, error: () => {}, child: () => logger };
  return logger;
}
