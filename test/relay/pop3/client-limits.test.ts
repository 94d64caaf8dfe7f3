// POP3 side of "one client can hold every connection": a per-client connection limit, a command
// line that must be complete within the idle timeout however its bytes trickle in, and a short idle
// timeout for sessions that arrive near the connection limit (stress mode, as Postfix's).
import { afterEach, describe, expect, it } from 'vitest';
import { ALICE, RawClient, startFixture, type Pop3Fixture } from './helpers.ts';

describe('per-client limits on the POP3 listener', () => {
  let fixture: Pop3Fixture | undefined;
  const clients: RawClient[] = [];
  afterEach(async () => {
    for (const client of clients.splice(0)) client.destroy();
    await fixture?.close();
    fixture = undefined;
  });

  const open = async (localAddress?: string): Promise<RawClient> => {
    const client = await RawClient.connect({ host: fixture!.host, port: fixture!.port, ...(localAddress === undefined ? {} : { localAddress }) });
    clients.push(client);
    return client;
  };

  it('refuses a client beyond its connection count, not the others', async () => {
    fixture = await startFixture({ limits: { maxConnections: 20, maxConnectionsPerClient: 2 } });
    for (let index = 0; index < 2; index += 1) expect(await (await open('127.0.0.2')).readLine()).toMatch(/^\+OK/);
    expect(await (await open('127.0.0.2')).readLine()).toBe('-ERR [SYS/TEMP] too many connections from your address, try again later');
    expect(await (await open('127.0.0.3')).readLine()).toMatch(/^\+OK/);
  });

  it('ends a session whose command line trickles in for longer than the idle timeout', async () => {
    fixture = await startFixture({ limits: { idleTimeoutMs: 1000 } });
    const client = await open();
    await client.readLine();
    // A byte every 100 ms keeps the socket busy but never finishes the line.
    const line = `USER ${ALICE.address}${' '.repeat(200)}`;
    for (let index = 0; index < line.length && !client.ended; index += 1) {
      client.write(line[index]!);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
    expect(client.ended).toBe(true);
    expect(await client.readLine()).toBe('-ERR autologout: command line not completed in time');
  });

  it('gives sessions that arrive near the connection limit a short idle timeout (stress mode)', async () => {
    fixture = await startFixture({ limits: { maxConnections: 5, stressIdleTimeoutMs: 300 } });
    const calm = [];
    for (let index = 0; index < 3; index += 1) {
      const client = await open();
      expect(await client.readLine()).toMatch(/^\+OK/);
      calm.push(client);
    }
    const stressed = await open(); // the 4th of 5: 80 %
    expect(await stressed.readLine()).toMatch(/^\+OK/);
    expect(await stressed.readLine()).toBe('-ERR autologout: idle for too long');
    expect(await calm[0]!.command('NOOP')).toMatch(/^-ERR/); // still there (NOOP is for TRANSACTION)
  });
});
