/**
 * Reading a bot's logs: the gateway's own log file on the host (JSON records, one per line) with tail + follow
 * by polling, or — before that file exists — the container's stdout/stderr through the Docker API.
 * Both end quietly when the consumer's signal aborts (a disconnect), and both release what they hold: the file
 * handle, or the Docker log stream (destroyed, so the engine stops streaming).
 */
import { open } from "node:fs/promises";
import type { Readable } from "node:stream";
import type Dockerode from "dockerode";
import { logLines } from "../log-follow.ts";
import { FrameDemuxer, LineSplitter } from "./stream.ts";

const DEFAULT_TAIL = 200;
const POLL_MS = 400;
const READ_CHUNK = 64 * 1024;

/** The last `n` lines of a file and the offset just past them (the end of the file). */
export async function tailLines(path: string, n: number): Promise<{ lines: string[]; offset: number; ino: number }> {
  const fh = await open(path, "r");
  try {
    const st = await fh.stat();
    let pos = st.size;
    let text = "";
    // read backwards until n+1 newlines are in hand (the file usually ends with one)
    while (pos > 0 && text.split("\n").length <= n + 1) {
      const len = Math.min(READ_CHUNK, pos);
      pos -= len;
      const buf = Buffer.alloc(len);
      await fh.read(buf, 0, len, pos);
      text = buf.toString("utf8") + text;
    }
    const all = text.split("\n");
    if (all[all.length - 1] === "") all.pop();
    // a partial first line (we started mid-line) is dropped unless we read from the very start
    if (pos > 0) all.shift();
    return { lines: n > 0 ? all.slice(-n) : [], offset: st.size, ino: st.ino };
  } finally {
    await fh.close();
  }
}

/**
 * Tail, then (with follow) poll for appended lines; rotation and truncation are handled by the shared follower
 * (which drains a renamed file before switching to the new one).
 */
export function followFile(path: string, opts: { follow: boolean; tail?: number }, signal: AbortSignal): AsyncGenerator<string> {
  return logLines(path, { follow: opts.follow, tail: opts.tail ?? DEFAULT_TAIL, pollMs: POLL_MS }, signal);
}

/** Container stdout/stderr through the engine (multiplexed frames, no TTY). */
export async function* containerLogs(
  container: Dockerode.Container,
  opts: { follow: boolean; tail?: number },
  signal: AbortSignal,
): AsyncGenerator<string> {
  const tail = opts.tail ?? DEFAULT_TAIL;
  if (!opts.follow) {
    const buf = (await container.logs({
      follow: false,
      stdout: true,
      stderr: true,
      tail,
      abortSignal: signal,
    })) as unknown as Buffer;
    const lines: string[] = [];
    const split = new LineSplitter();
    new FrameDemuxer((_k, p) => lines.push(...split.push(p))).push(Buffer.from(buf));
    lines.push(...split.flush());
    yield* lines;
    return;
  }
  const stream = (await container.logs({ follow: true, stdout: true, stderr: true, tail })) as unknown as Readable;
  const onAbort = () => stream.destroy();
  signal.addEventListener("abort", onAbort, { once: true });
  const split = new LineSplitter();
  let pending: string[] = [];
  const demux = new FrameDemuxer((_k, p) => pending.push(...split.push(p)));
  try {
    for await (const chunk of stream) {
      demux.push(Buffer.from(chunk as Uint8Array));
      const out = pending;
      pending = [];
      for (const line of out) yield line;
      if (signal.aborted) return;
    }
    for (const line of split.flush()) yield line;
  } catch (e) {
    if (!signal.aborted) throw e;
  } finally {
    signal.removeEventListener("abort", onAbort);
    stream.destroy();
  }
}
