/**
 * Which OpenPGP engine the core runs on. `openpgp` is pinned to an exact version in package.json:
 * the core relies on its behaviour in places (streams, packet classes), so an update is a deliberate
 * change, made together with the test suite.
 */
import { config } from 'openpgp';

/** e.g. "OpenPGP.js 6.3.2": for logs, bug reports and `sop version --backend`. */
export const openpgpEngine: string = config.versionString;
