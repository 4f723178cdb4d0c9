import { relative } from "node:path";

/**
 * The command that runs this same Molthub again, for hints the user copies from a log line or an error: the
 * compiled binary by the path it was started with, or from a checkout `npx bun src/main.ts` (a bare `molthub` exists
 * only after an install, and the first hint a new user meets must work where they are).
 */
export function selfCommand(
  bunMain: string = Bun.main,
  execPath: string = process.execPath,
  cwd: string = process.cwd(),
): string {
  // a compiled binary's entry point lives in Bun's embedded file system
  if (bunMain.startsWith("/$bunfs/")) return execPath;
  const main = relative(cwd, bunMain);
  return main === "src/main.ts" ? "npx bun src/main.ts" : `bun ${bunMain}`;
}
