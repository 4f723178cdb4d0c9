import { spawn } from "node:child_process";
import { basename } from "node:path";
import { ProviderError } from "../provider.ts";

/**
 * Runs one external command to completion with a timeout and an AbortSignal, capturing its output.
 * The child leads its own process group so that a timeout or cancel also ends whatever it spawned
 * (npm runs a tree of processes); only that group — ours — is signalled.
 */

export interface CommandResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

export interface CommandOptions {
  env: Record<string, string>;
  cwd?: string;
  timeoutMs: number;
  signal: AbortSignal;
  /** per stream; the tail is kept */
  maxOutputBytes?: number;
}

export function runCommand(argv: string[], opts: CommandOptions): Promise<CommandResult> {
  const [cmd, ...args] = argv;
  if (!cmd) throw new Error("runCommand: empty argv");
  const name = commandName(argv);
  if (opts.signal.aborted) return Promise.reject(new ProviderError(`cancelled before running ${name}`, "timeout"));
  const max = opts.maxOutputBytes ?? 4 * 1024 * 1024;

  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { cwd: opts.cwd, env: opts.env, stdio: ["ignore", "pipe", "pipe"], detached: true });
    let stdout = "";
    let stderr = "";
    const keep = (buf: string, chunk: Buffer) => {
      const next = buf + chunk.toString("utf8");
      return next.length > max ? next.slice(next.length - max) : next;
    };
    child.stdout?.on("data", (c: Buffer) => (stdout = keep(stdout, c)));
    child.stderr?.on("data", (c: Buffer) => (stderr = keep(stderr, c)));

    let failure: ProviderError | null = null;
    const kill = (why: ProviderError) => {
      if (failure) return;
      failure = why;
      if (child.pid === undefined) return;
      try {
        process.kill(-child.pid, "SIGKILL");
      } catch {
        /* already gone */
      }
    };
    const timer = setTimeout(
      () =>
        kill(
          new ProviderError(`${name} did not finish within ${Math.round(opts.timeoutMs / 1000)} s and was stopped`, "timeout"),
        ),
      opts.timeoutMs,
    );
    const onAbort = () => kill(new ProviderError(`${name} was cancelled: ${String(opts.signal.reason ?? "aborted")}`, "timeout"));
    opts.signal.addEventListener("abort", onAbort, { once: true });

    const finish = () => {
      clearTimeout(timer);
      opts.signal.removeEventListener("abort", onAbort);
    };
    child.once("error", (e) => {
      finish();
      const code = (e as NodeJS.ErrnoException).code;
      reject(
        new ProviderError(
          code === "ENOENT"
            ? `${name} was not found; check that it is installed and on PATH`
            : `could not run ${name}: ${e.message}`,
          "failed",
        ),
      );
    });
    child.once("close", (code, sig) => {
      finish();
      if (failure) reject(failure);
      else resolve({ code, signal: sig, stdout, stderr });
    });
  });
}

/** A short name for messages: the program and, for `unshare … <node> <script>`, the script. Never values. */
function commandName(argv: string[]): string {
  const script = argv.find((a) => a.endsWith(".mjs") || a.endsWith(".js"));
  return script ? `${basename(script)}` : basename(argv[0] ?? "command");
}
