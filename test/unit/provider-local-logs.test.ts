/** Tailing and following a gateway log file: tail, appends, rotation by rename, truncation, late creation. */
import { appendFileSync, mkdtempSync, renameSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { logLines } from "../../providers/log-follow.ts";

const dir = mkdtempSync(join(tmpdir(), "molthub-local-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function collect(it: AsyncIterable<string>): Promise<string[]> {
  const out: string[] = [];
  for await (const l of it) out.push(l);
  return out;
}

/** Pulls lines from a following iterator into an array, in the background. */
function follow(file: string, tail: number) {
  const ctl = new AbortController();
  const lines: string[] = [];
  const done = (async () => {
    for await (const l of logLines(file, { follow: true, tail, pollMs: 20 }, ctl.signal)) lines.push(l);
  })();
  const until = async (n: number) => {
    const end = Date.now() + 5_000;
    while (lines.length < n) {
      if (Date.now() > end) throw new Error(`only ${lines.length} of ${n} lines: ${JSON.stringify(lines)}`);
      await new Promise((r) => setTimeout(r, 10));
    }
  };
  return { lines, until, stop: async () => (ctl.abort(), await done) };
}

describe("logLines", () => {
  it("returns the last N complete lines across chunk boundaries, without a line still being written", async () => {
    const file = join(dir, "tail.log");
    const big = Array.from({ length: 5000 }, (_, i) => `{"n":${i},"pad":"${"x".repeat(40)}"}`);
    writeFileSync(file, `${big.join("\n")}\n{"partial":`);
    const got = await collect(logLines(file, { follow: false, tail: 3 }, AbortSignal.timeout(5_000)));
    expect(got).toEqual(big.slice(-3));
    expect(await collect(logLines(file, { follow: false, tail: 0 }, AbortSignal.timeout(5_000)))).toEqual([]);
    expect(await collect(logLines(join(dir, "missing.log"), { follow: false, tail: 10 }, AbortSignal.timeout(5_000)))).toEqual(
      [],
    );
    const small = join(dir, "small.log");
    writeFileSync(small, "a\nb\n");
    expect(await collect(logLines(small, { follow: false, tail: 10 }, AbortSignal.timeout(5_000)))).toEqual(["a", "b"]);
  });

  it("follows appends, a rotation by rename and a truncation, and ends when aborted", async () => {
    const file = join(dir, "gateway.log");
    writeFileSync(file, "old1\nold2\n");
    const f = follow(file, 1);
    await f.until(1);
    expect(f.lines).toEqual(["old2"]);

    appendFileSync(file, "new1\nne");
    await f.until(2);
    appendFileSync(file, "w2\n");
    await f.until(3);
    expect(f.lines.slice(1)).toEqual(["new1", "new2"]);

    // OpenClaw rotates gateway.log -> gateway.1.log and keeps writing a fresh gateway.log
    appendFileSync(file, "last-in-old\n");
    renameSync(file, join(dir, "gateway.1.log"));
    writeFileSync(file, "fresh1\n");
    await f.until(5);
    expect(f.lines.slice(3)).toEqual(["last-in-old", "fresh1"]);

    truncateSync(file, 0);
    await new Promise((r) => setTimeout(r, 60));
    appendFileSync(file, "after-truncate\n");
    await f.until(6);
    expect(f.lines[5]).toBe("after-truncate");
    await f.stop();
  });

  it("waits for a log file that does not exist yet", async () => {
    const file = join(dir, "late.log");
    const f = follow(file, 50);
    await new Promise((r) => setTimeout(r, 60));
    writeFileSync(file, "first\nsecond\n");
    await f.until(2);
    expect(f.lines).toEqual(["first", "second"]);
    await f.stop();
  });
});
