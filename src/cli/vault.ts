import type { ApiClient } from "./client.ts";
import { CliError } from "./io.ts";

/** `molthub <group> …` client commands for vault (filled in by its module owner). */
export async function run(_client: ApiClient, argv: string[]): Promise<number> {
  throw new CliError(`unknown command: ${argv.join(" ")}`, 2);
}

export const USAGE = "";
