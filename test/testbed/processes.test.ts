/**
 * Processes starts and stops the demo's and the e2e harness's children. Stopping must leave nothing
 * behind in this Node process either: a pending timer kept `sigill demo` alive for the whole grace
 * period after it had stopped everything.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { Processes, processesWithMarker } from '../../src/testbed/processes.ts';

const pendingTimers = (): number => process.getActiveResourcesInfo().filter((kind) => kind === 'Timeout').length;

describe('Processes.stop', () => {
  it('stops the process group and leaves no timer that would keep Node running', async () => {
    const processes = new Processes(`processes-test-${randomBytes(6).toString('hex')}`);
    const started = processes.start('sleep', 'sleep', ['300']);
    const timersBefore = pendingTimers();
    await processes.stop(started, 600_000);
    expect(started.child.signalCode).toBe('SIGTERM');
    expect(pendingTimers()).toBe(timersBefore);
    expect(processesWithMarker(processes.marker)).toEqual([]);
  });

  it('kills a process that ignores SIGTERM once the grace period is over', async () => {
    const processes = new Processes(`processes-test-${randomBytes(6).toString('hex')}`);
    const started = processes.start('stubborn', 'sh', ['-c', 'trap "" TERM; echo ready; while :; do sleep 1; done'], { pipeStdout: true });
    await new Promise((resolve) => started.child.stdout?.once('data', resolve)); // the trap is set
    await processes.stop(started, 200);
    expect(started.child.signalCode).toBe('SIGKILL');
  });
});
