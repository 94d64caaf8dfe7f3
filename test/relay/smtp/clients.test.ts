// Independent clients: Python's smtplib (plaintext on loopback and with STARTTLS) and swaks (AUTH
// PLAIN and LOGIN, with and without STARTTLS), against the submission and inbound listeners.
import { execFile, spawnSync } from 'node:child_process';
import { rm } from 'node:fs/promises';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { tempDir } from '../../support/temp-dir.ts';
import { describeWithTools } from '../../support/tools.ts';
import { makeTlsPair, mailboxMessages, PASSWORDS, startTestRelay, waitFor, type TestRelay } from '../helpers.ts';

const run = promisify(execFile);
const SMTP_SEND = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../clients/smtp_send.py');

async function messagesWith(relay: TestRelay, address: string, subject: string): Promise<string[]> {
  return waitFor(async () => {
    const found = (await mailboxMessages(relay, address)).filter((message) => message.includes(`Subject: ${subject}`));
    return found.length > 0 && found;
  }, `a message "${subject}" for ${address}`);
}

// swaks speaks TLS only with Perl's Net::SSLeay (a mere Recommends of the swaks package). When it is
// missing, a placeholder tool name makes the suite report SKIPPED with the package to install.
const swaksHasTls = spawnSync('perl', ['-MNet::SSLeay', '-MIO::Socket::SSL', '-e1']).status === 0;
const tools = [
  { command: 'python3', debianPackage: 'python3' },
  { command: 'swaks', debianPackage: 'swaks' },
  { command: 'openssl', debianPackage: 'openssl' },
  ...(swaksHasTls ? [] : [{ command: 'perl-Net-SSLeay', debianPackage: 'libnet-ssleay-perl libio-socket-ssl-perl' }]),
];

describeWithTools(tools, 'independent SMTP clients', () => {
  let relay: TestRelay;
  let certDir: string;
  beforeAll(async () => {
    certDir = await tempDir('sigill-tls-');
    relay = await startTestRelay({ tls: makeTlsPair(certDir) });
  });
  afterAll(async () => {
    await relay?.stop();
    await rm(certDir, { recursive: true, force: true });
  });

  const python = async (args: string[]): Promise<string> =>
    (await run('python3', [SMTP_SEND, '127.0.0.1', ...args])).stdout.trim();

  it('python smtplib: AUTH on loopback, delivered with dot-stuffing undone', async () => {
    const out = await python([String(relay.submissionPort), 'alice@sigill.test', PASSWORDS.alice, 'alice@sigill.test', 'bob@sigill.test', 'py-plain']);
    expect(out).toBe('OK {}');
    const [message] = await messagesWith(relay, 'bob@sigill.test', 'py-plain');
    expect(message).toContain('\r\n.a line that starts with a dot\r\n');
    expect(message).toContain('Received: from python.client.test ([127.0.0.1])');
  });

  it('python smtplib: STARTTLS then AUTH; the trace says ESMTPSA', async () => {
    const out = await python([String(relay.submissionPort), 'alice@sigill.test', PASSWORDS.alice, 'alice@sigill.test', 'bob@sigill.test', 'py-tls', '--starttls']);
    expect(out).toBe('OK {}');
    const [message] = await messagesWith(relay, 'bob@sigill.test', 'py-tls');
    expect(message).toMatch(/with ESMTPSA id /);
  });

  it('python smtplib: the inbound listener refuses to relay (557 5.7.1)', async () => {
    const out = await python([String(relay.smtpPort), '', '', 'someone@example.org', 'victim@example.net', 'py-relay']);
    expect(out).toMatch(/^REFUSED 557 5\.7\.1 /);
  });

  for (const method of ['PLAIN', 'LOGIN']) {
    it(`swaks: AUTH ${method} after STARTTLS`, async () => {
      const { stdout } = await run('swaks', [
        '--server', '127.0.0.1', '--port', String(relay.submissionPort), '--tls',
        '--auth', method, '--auth-user', 'alice@sigill.test', '--auth-password', PASSWORDS.alice,
        '--from', 'alice@sigill.test', '--to', 'bob@sigill.test', '--header', `Subject: swaks-${method}`, '--ehlo', 'swaks.client.test',
      ]);
      expect(stdout).toMatch(/<~ {2}235 2\.7\.0 /);
      expect(stdout).toMatch(/<~ {2}250 2\.6\.0 OK: queued as /);
      const [message] = await messagesWith(relay, 'bob@sigill.test', `swaks-${method}`);
      expect(message).toMatch(/with ESMTPSA id /);
    });
  }

  it('swaks: a wrong password is refused with 535 5.7.8', async () => {
    const result = await run('swaks', [
      '--server', '127.0.0.1', '--port', String(relay.submissionPort), '--tls',
      '--auth', 'PLAIN', '--auth-user', 'alice@sigill.test', '--auth-password', 'not-the-password',
      '--from', 'alice@sigill.test', '--to', 'bob@sigill.test',
    ]).catch((error: { stdout: string }) => error);
    expect(result.stdout).toMatch(/<~\* {1}535 5\.7\.8 /);
  });
});
