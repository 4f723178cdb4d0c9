import { CliError } from "./io.ts";

/**
 * Where a command runs: offline against a data dir (it opens the store itself) or against a running server over
 * the API. One rule for every command, so a flag typed on the command line is never overridden by a variable
 * left in the environment:
 *
 * 1. `--data-dir`/`--config` name a data dir, `--server`/`--token` a server; giving both is refused.
 * 2. A command that works only one way refuses the other way's flags instead of ignoring them.
 * 3. A command that works both ways (`audit verify`) follows the flags; with none, a token in the environment
 *    (`MOLTHUB_TOKEN`) means the server, else the data dir (`MOLTHUB_DATA_DIR` or the default).
 */

export type CommandMode = "offline" | "server";

export interface ModeFlags {
  "data-dir"?: string;
  config?: string;
  server?: string;
  token?: string;
}

/**
 * The mode `command` runs in (`supports`: the modes it has), from its flags and then the environment.
 *
 * @example
 * chooseMode("audit verify", ["offline", "server"], { "data-dir": "/var/lib/molthub" }, { MOLTHUB_TOKEN: "mh_…" }) // "offline"
 */
export function chooseMode(
  command: string,
  supports: readonly CommandMode[],
  flags: ModeFlags,
  env: Record<string, string | undefined> = process.env,
): CommandMode {
  const offline = (["data-dir", "config"] as const).filter((f) => flags[f] !== undefined).map((f) => `--${f}`);
  const server = (["server", "token"] as const).filter((f) => flags[f] !== undefined).map((f) => `--${f}`);
  if (offline.length && server.length)
    throw new CliError(
      `${offline.join(" and ")} and ${server.join(" and ")} contradict each other: the first run \`molthub ${command}\` against a data dir, the second against a server; give one`,
      2,
    );
  if (offline.length) {
    if (!supports.includes("offline"))
      throw new CliError(
        `\`molthub ${command}\` talks to a running server; ${offline.join(" and ")} do${offline.length > 1 ? "" : "es"} not apply — give --server URL and --token T (or MOLTHUB_URL and MOLTHUB_TOKEN)`,
        2,
      );
    return "offline";
  }
  if (server.length) {
    if (!supports.includes("server"))
      throw new CliError(
        `\`molthub ${command}\` runs offline against the data dir; ${server.join(" and ")} do${server.length > 1 ? "" : "es"} not apply — give --data-dir DIR (or MOLTHUB_DATA_DIR)`,
        2,
      );
    return "server";
  }
  if (supports.length === 1) return supports[0]!;
  return env.MOLTHUB_TOKEN ? "server" : "offline";
}
