/**
 * SSH transport for the systemd/launchd providers: quoting (quote.ts), host-key pinning (hostkey.ts), the
 * appliance key pair (keys.ts) and the per-host connection pool (pool.ts). Tests: test/unit/ssh-*.test.ts and
 * test/integration/ssh-transport.test.ts (a real systemd + sshd host).
 */

export {
  decideHostKey,
  fingerprintOfPublicKeyLine,
  fingerprintSha256,
  HostKeyMismatchError,
  HostKeyNotPinnedError,
  type HostKeyPolicy,
  keyTypeOf,
  normalizeFingerprint,
} from "./hostkey.ts";
export { generateEd25519KeyPair, publicKeyLineOf, type SshKeyPair } from "./keys.ts";
export {
  type ExecOptions,
  type ExecResult,
  type ExecStreamOptions,
  type HostStats,
  probeHostKey,
  type SftpOptions,
  SshError,
  type SshErrorCode,
  type SshHostConfig,
  SshPool,
  type SshPoolOptions,
} from "./pool.ts";
export { assertNotOption, buildRemoteCommand, quoteArg, ShellQuoteError, shellQuote } from "./quote.ts";
