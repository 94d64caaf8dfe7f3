/** The curl-style routes of `sigill key locate`: --resolve HOST:PORT:ADDR and --connect-to HOST1:PORT1:HOST2:PORT2. */
import { describe, expect, it } from 'vitest';
import { parseConnectTo, parseResolve } from '../../../src/cli/key/node-fetch.ts';
import { expectSigillError } from '../../unit/core/keys/expect-code.ts';

describe('route options', () => {
  it('--resolve keeps the port and changes only the address (IPv6 in brackets)', () => {
    expect(parseResolve('OpenPGPKey.Sigill.test:443:127.0.0.1')).toEqual({ host: 'openpgpkey.sigill.test', port: 443, toHost: '127.0.0.1', toPort: 443 });
    expect(parseResolve('keys.sigill.test:8443:[::1]')).toEqual({ host: 'keys.sigill.test', port: 8443, toHost: '::1', toPort: 8443 });
  });

  it('--connect-to changes address and port', () => {
    expect(parseConnectTo('sigill.test:443:127.0.0.1:40001')).toEqual({ host: 'sigill.test', port: 443, toHost: '127.0.0.1', toPort: 40001 });
    expect(parseConnectTo('sigill.test:443:[::1]:40001')).toEqual({ host: 'sigill.test', port: 443, toHost: '::1', toPort: 40001 });
  });

  it('refuses malformed values', async () => {
    for (const value of ['sigill.test', 'sigill.test:443', ':443:127.0.0.1', 'sigill.test:0:127.0.0.1', 'sigill.test:65536:127.0.0.1', 'sigill.test:x:127.0.0.1', 'a:1:b:2']) {
      await expectSigillError(() => parseResolve(value), 'BAD_INPUT');
    }
    for (const value of ['sigill.test:443:127.0.0.1', 'sigill.test:443:127.0.0.1:', 'sigill.test:443:127.0.0.1:99999']) {
      await expectSigillError(() => parseConnectTo(value), 'BAD_INPUT');
    }
  });
});
