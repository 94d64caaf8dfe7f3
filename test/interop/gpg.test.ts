// sigill ⇄ GnuPG 2.2 through gpg's own CLI, in a throwaway GNUPGHOME (see harness.ts for the table).
import { defineInteropSuite } from './harness.ts';
import { GpgImplementation } from './implementations.ts';

defineInteropSuite({
  name: 'gpg',
  tools: [{ command: 'gpg', debianPackage: 'gnupg' }],
  create: (scratch) => GpgImplementation.create(scratch),
  // gpg 2.2 does not know v6 keys: importing erin's key or certificate imports nothing.
  v6Error: /with unknown version 6/,
});
