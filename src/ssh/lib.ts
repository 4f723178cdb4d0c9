import type * as Ssh2 from "ssh2";

let mod: typeof Ssh2 | undefined;

/**
 * ssh2, loaded on first use: it costs about 20 ms and 24 MB at start-up, and many appliances never talk to a host.
 * A plain `require` with a literal name, so `bun build --compile` still bundles it.
 */
export function ssh2(): typeof Ssh2 {
  mod ??= require("ssh2") as typeof Ssh2;
  return mod;
}
