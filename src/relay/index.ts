/**
 * The relay's public entry: what the command line, the demo, the Thunderbird test-bed and benches use.
 * The protocol folders (smtp/, pop3/, http/) are internals of the relay, assembled by server.ts; code
 * outside src/relay reaches them only through startRelay (a lint rule in eslint.config.js says so).
 */
export { startRelay, type ListeningInfo, type RunningRelay, type StartRelayOptions } from './server.ts';
export {
  DEFAULT_LIMITS,
  loadConfig,
  parseConfig,
  RelayConfigError,
  type LimitsConfig,
  type ListenConfig,
  type RelayConfig,
  type RetryConfig,
} from './config.ts';
export { hashPassword, type ThrottleOptions, type UserConfig } from './auth.ts';
export { createLogger, silentLogger, type Logger } from './log.ts';
export { MailboxStore, type StoredMessage } from './mailbox.ts';
export { formatHostPort, isLoopback, parseHostPort, type ListenAddress } from './network.ts';
