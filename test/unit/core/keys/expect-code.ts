/** Assertions on SigillError codes, shared by the key tests. */
import { expect } from 'vitest';
import { SigillError, type SigillErrorCode } from '../../../../src/core/index.ts';

/** Awaits `action` and asserts that it throws a SigillError with `code`; returns the error. */
export async function expectSigillError(action: Promise<unknown> | (() => unknown), code: SigillErrorCode): Promise<SigillError> {
  let thrown: unknown;
  try {
    await (typeof action === 'function' ? action() : action);
  } catch (error) {
    thrown = error;
  }
  expect(thrown, `expected SigillError ${code}`).toBeInstanceOf(SigillError);
  expect((thrown as SigillError).code).toBe(code);
  return thrown as SigillError;
}
