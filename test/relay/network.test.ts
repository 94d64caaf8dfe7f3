// The one host:port parser and formatter every listener and the config use, and the loopback test.
import { describe, expect, it } from 'vitest';
import { formatHostPort, HostPortError, isLoopback, parseHostPort } from '../../src/relay/network.ts';

describe('host:port', () => {
  it('parses host:port and [v6]:port, and :port / port only with a default host', () => {
    expect(parseHostPort('127.0.0.1:0')).toEqual({ host: '127.0.0.1', port: 0 });
    expect(parseHostPort('[::1]:1100')).toEqual({ host: '::1', port: 1100 });
    expect(parseHostPort('localhost:8080')).toEqual({ host: 'localhost', port: 8080 });
    expect(parseHostPort('2525', { defaultHost: '127.0.0.1' })).toEqual({ host: '127.0.0.1', port: 2525 });
    expect(parseHostPort(':25', { defaultHost: '127.0.0.1' })).toEqual({ host: '127.0.0.1', port: 25 });
    for (const bad of ['nonsense', '2525', ':25', '127.0.0.1:99999', '::1:25', 'a b:25', '[x]:25', '127.0.0.1:']) {
      expect(() => parseHostPort(bad), bad).toThrow(HostPortError);
    }
    expect(() => parseHostPort('nonsense')).toThrow(/host:port/);
  });

  it('formats IPv6 hosts in brackets, and round-trips', () => {
    expect(formatHostPort({ host: '::1', port: 25 })).toBe('[::1]:25');
    expect(formatHostPort({ host: '127.0.0.1', port: 25 })).toBe('127.0.0.1:25');
    for (const text of ['[::1]:25', '127.0.0.1:0', 'localhost:1']) expect(formatHostPort(parseHostPort(text))).toBe(text);
  });

  it('knows loopback: 127/8, ::1, IPv4-mapped 127/8 and localhost', () => {
    for (const host of ['127.0.0.1', '127.8.9.10', '::1', '[::1]', '::ffff:127.0.0.1', 'localhost', 'LOCALHOST']) expect(isLoopback(host), host).toBe(true);
    for (const host of ['0.0.0.0', '10.0.0.1', '::', '::ffff:10.0.0.1', 'localhost.example', '128.0.0.1']) expect(isLoopback(host), host).toBe(false);
  });
});
