import { HostKeyMismatchError, HostKeyNotPinnedError } from "../../src/ssh/hostkey.ts";
import { SshError } from "../../src/ssh/pool.ts";
import { ShellQuoteError } from "../../src/ssh/quote.ts";
import { ProviderError } from "../provider.ts";

/**
 * Any error of a step on a registered host as a ProviderError that says what to do: a changed or unconfirmed host
 * key and a lost connection are `unreachable`, a value the quoting refused is `invalid_config`, a deadline `timeout`.
 */
export function toProviderError(e: unknown, what: string): ProviderError {
  if (e instanceof ProviderError) return e;
  if (e instanceof HostKeyMismatchError || e instanceof HostKeyNotPinnedError)
    return new ProviderError(`${what}: ${(e as Error).message}`, "unreachable");
  if (e instanceof ShellQuoteError) return new ProviderError(`${what}: ${e.message}`, "invalid_config");
  if (e instanceof SshError) {
    const code =
      e.code === "timeout" || e.code === "aborted"
        ? "timeout"
        : e.code === "sftp" || e.code === "channel"
          ? "failed"
          : "unreachable";
    return new ProviderError(`${what}: ${e.message}`, code);
  }
  return new ProviderError(`${what}: ${(e as Error)?.message ?? String(e)}`, "failed");
}
