import { createInterface } from "node:readline/promises";
import type { Evaluation } from "./findings.ts";
/** Reads a secret: the first line of stdin when piped, or a prompt without echo on a terminal. */
export async function readSecret(promptText: string): Promise<string> {
  if (!process.stdin.isTTY) {
    const text = await new Response(Bun.stdin.stream()).text();
    const line = text.split(/\r?\n/)[0] ?? "";
    if (!line)
      throw new CliError("expected the password on standard input (e.g. `printf '%s' \"$PW\" | molthub … --password-stdin`)");
    return line;
  }
  process.stderr.write(promptText);
  process.stdin.setRawMode(true);
  process.stdin.resume();
  return new Promise((resolve, reject) => {
    let buf = "";
    const onData = (d: Buffer) => {
      for (const ch of d.toString("utf8")) {
        if (ch === "\r" || ch === "\n") {
          cleanup();
          process.stderr.write("\n");
          return resolve(buf);
        }
        if (ch === "\u0003") {
          cleanup();
          return reject(new CliError("cancelled"));
        }
        if (ch === "\u007f") buf = buf.slice(0, -1);
        else buf += ch;
      }
    };
    const cleanup = () => {
      process.stdin.off("data", onData);
      process.stdin.setRawMode(false);
      process.stdin.pause();
    };
    process.stdin.on("data", onData);
  });
}

/**
 * A failed command. From the API it keeps the server's error code and the policy findings, so commands branch on
 * the code, never on the message.
 */
export class CliError extends Error {
  override name = "CliError";
  constructor(
    message: string,
    readonly exitCode = 1,
    readonly api?: { code: string; policy?: Evaluation },
  ) {
    super(message);
  }
}

/** Rows of cells (the first is the header) as lines, each column padded to its widest cell. */
export function tableLines(rows: string[][]): string[] {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join("  ")
      .trimEnd(),
  );
}

export function printTable(rows: Record<string, unknown>[], columns: string[]): void {
  const cells = rows.map((r) => columns.map((c) => (r[c] === null || r[c] === undefined ? "-" : String(r[c]))));
  for (const line of tableLines([columns.map((c) => c.toUpperCase()), ...cells])) console.log(line);
}

/** A yes/no question on the terminal (stderr, so stdout stays the command's output); anything but y/yes is no. */
export async function confirm(question: string): Promise<boolean> {
  const rl = createInterface({ input: process.stdin, output: process.stderr });
  try {
    return /^y(es)?$/i.test((await rl.question(question)).trim());
  } finally {
    rl.close();
  }
}
