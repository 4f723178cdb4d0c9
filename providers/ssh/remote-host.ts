/**
 * One registered host as the providers use it: argv commands and files over the shared SshPool. Every call has a
 * deadline and honours the AbortSignal; every failure is a ProviderError naming the host. Commands are argv (the
 * pool quotes every element), so no value is ever parsed by the host's shell.
 */
import type { ExecResult, SshPool } from "../../src/ssh/pool.ts";
import { SshError } from "../../src/ssh/pool.ts";
import { lastLines } from "../command-output.ts";
import { ProviderError } from "../provider.ts";
import { toProviderError } from "./errors.ts";

/** The part of SshPool the providers use; tests substitute a recording fake. */
export type RemotePool = Pick<SshPool, "exec" | "execStream" | "sftpWrite" | "sftpRead" | "forward">;

export interface RunOptions {
  timeoutMs?: number;
  env?: Record<string, string>;
  stdin?: string;
}

export class RemoteHost {
  constructor(
    readonly pool: RemotePool,
    readonly poolId: string,
    /** the host's name, for messages */
    readonly name: string,
    /** deadline of one command or transfer */
    readonly timeoutMs: number,
  ) {}

  /** Run argv; a non-zero exit is returned, not thrown (use `must` for that). */
  async run(argv: string[], signal: AbortSignal, opts: RunOptions = {}): Promise<ExecResult> {
    try {
      return await this.pool.exec(this.poolId, argv, {
        timeoutMs: opts.timeoutMs ?? this.timeoutMs,
        signal,
        env: opts.env,
        stdin: opts.stdin,
      });
    } catch (e) {
      throw toProviderError(e, `\`${argv[0]}\` on ${this.name}`);
    }
  }

  /** Run argv and throw a ProviderError (with its stderr) unless it exits 0; `what` names the step. */
  async must(argv: string[], signal: AbortSignal, what: string, opts: RunOptions = {}): Promise<ExecResult> {
    const r = await this.run(argv, signal, opts);
    if (r.code !== 0) {
      throw new ProviderError(
        `${what} failed on ${this.name} (exit ${r.code ?? r.signal}): ${lastLines(r.stderr || r.stdout, 6) || "no output"}`,
        "failed",
      );
    }
    return r;
  }

  /** Write a file over SFTP with `mode`. */
  async write(path: string, content: string, mode: number, signal: AbortSignal): Promise<void> {
    try {
      await this.pool.sftpWrite(this.poolId, path, content, mode, { timeoutMs: this.timeoutMs, signal });
    } catch (e) {
      throw toProviderError(e, `writing ${path} on ${this.name}`);
    }
  }

  /** A file's text over SFTP, or null when it is missing (or unreadable). */
  async read(path: string, signal: AbortSignal): Promise<string | null> {
    try {
      return (await this.pool.sftpRead(this.poolId, path, { timeoutMs: this.timeoutMs, signal })).toString("utf8");
    } catch (e) {
      if (e instanceof SshError && e.code === "sftp") return null;
      throw toProviderError(e, `reading ${path} on ${this.name}`);
    }
  }

  /** The output lines of a long-running command (`tail -F`, `journalctl -f`) until it ends or the signal aborts. */
  stream(argv: string[], signal: AbortSignal): AsyncIterable<string> {
    return this.pool.execStream(this.poolId, argv, { signal, timeoutMs: this.timeoutMs });
  }
}

/** argv of `tail` for a log file on a host: the last `tail` lines, then (with follow) new ones across rotation. */
export function tailArgv(path: string, opts: { follow: boolean; tail: number }): string[] {
  return ["tail", "-n", String(opts.tail), ...(opts.follow ? ["-F"] : []), "--", path];
}
