import { type FileHandle, open, stat } from "node:fs/promises";

/**
 * Lines of a log file that another process appends to: the last `tail` lines, then (when following) each
 * new line as it is written, until the signal aborts.
 *
 * OpenClaw writes exactly the `logging.file` path (no date suffix for a custom name) and rotates at
 * `logging.maxFileBytes` by renaming it to `<name>.1<ext>`; truncation by an operator is possible too.
 * Following therefore polls: it drains the open descriptor (which still points at a renamed file), then
 * reopens the path from the start when its inode changed, or rewinds when the file shrank.
 */

export interface FollowOptions {
  follow: boolean;
  /** lines of existing content to emit first; 0 = none */
  tail: number;
  pollMs?: number;
}

const CHUNK = 64 * 1024;

export async function* logLines(path: string, opts: FollowOptions, signal: AbortSignal): AsyncGenerator<string> {
  const pollMs = opts.pollMs ?? 500;
  let fh: FileHandle | null = await openIfExists(path);
  let ino = 0;
  let pos = 0;
  let pending = "";
  let decoder = new TextDecoder();

  try {
    if (fh) {
      const st = await fh.stat();
      ino = st.ino;
      const { lines, end } = await lastLinesOf(fh, st.size, opts.tail);
      pos = end;
      for (const l of lines) yield l;
    }
    if (!opts.follow) return;

    let drained = false;
    while (!signal.aborted) {
      if (fh) {
        // Everything appended since the last look, from the descriptor we hold (even if the path moved on).
        for (;;) {
          const buf = Buffer.allocUnsafe(CHUNK);
          const { bytesRead } = await fh.read(buf, 0, CHUNK, pos);
          if (bytesRead === 0) break;
          pos += bytesRead;
          const text = pending + decoder.decode(buf.subarray(0, bytesRead), { stream: true });
          const parts = text.split("\n");
          pending = parts.pop() ?? "";
          for (const l of parts) yield stripCr(l);
          if (signal.aborted) return;
        }
      }
      const st = await stat(path).catch(() => null);
      if (st && fh && st.ino !== ino && !drained) {
        // Rotated: lines may have been appended to the old file between the read above and the rename.
        // Read it once more (the loop above, from the descriptor we hold) before switching.
        drained = true;
        continue;
      }
      if (st && (!fh || st.ino !== ino)) {
        // Rotated (or first appeared): the old file is drained; the new one is read from its start.
        drained = false;
        if (fh && pending) yield stripCr(pending);
        await fh?.close();
        fh = await openIfExists(path);
        ino = st.ino;
        pos = 0;
        pending = "";
        decoder = new TextDecoder();
        continue;
      }
      if (st && fh && st.size < pos) {
        // Truncated in place.
        pos = 0;
        pending = "";
        decoder = new TextDecoder();
        continue;
      }
      await sleep(pollMs, signal);
    }
  } finally {
    await fh?.close().catch(() => {});
  }
}

async function openIfExists(path: string): Promise<FileHandle | null> {
  try {
    return await open(path, "r");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return null;
    throw e;
  }
}

/**
 * The last `n` complete lines before `size`, reading backwards in chunks. A final line without its newline
 * is being written right now: it is left for the follower (`end` stops before it).
 */
async function lastLinesOf(fh: FileHandle, size: number, n: number): Promise<{ lines: string[]; end: number }> {
  let start = size;
  let tailBytes = Buffer.alloc(0);
  // Read back until the buffer holds n+1 newlines (n complete lines plus the one before them) or the file start.
  while (start > 0) {
    const len = Math.min(CHUNK, start);
    start -= len;
    const buf = Buffer.allocUnsafe(len);
    await fh.read(buf, 0, len, start);
    tailBytes = Buffer.concat([buf, tailBytes]);
    if (countNewlines(tailBytes) > n) break;
  }
  const lastNl = tailBytes.lastIndexOf(0x0a);
  if (lastNl < 0) return { lines: [], end: start };
  const complete = tailBytes.subarray(0, lastNl);
  const end = start + lastNl + 1;
  if (n <= 0) return { lines: [], end };
  let lines = complete.toString("utf8").split("\n");
  // Unless we reached the file start, the first piece is a partial line.
  if (start > 0) lines = lines.slice(1);
  return { lines: lines.slice(-n).map(stripCr), end };
}

function countNewlines(b: Buffer): number {
  let c = 0;
  for (let i = b.indexOf(0x0a); i >= 0; i = b.indexOf(0x0a, i + 1)) c++;
  return c;
}

function stripCr(l: string): string {
  return l.endsWith("\r") ? l.slice(0, -1) : l;
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const t = setTimeout(done, ms);
    function done() {
      clearTimeout(t);
      signal.removeEventListener("abort", done);
      resolve();
    }
    signal.addEventListener("abort", done, { once: true });
  });
}
