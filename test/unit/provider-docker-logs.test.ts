/**
 * Following the gateway's log file the way DockerProvider.logs does: tail, appended lines, truncation and
 * replacement (rotation), and a consumer disconnect ending the iteration.
 */
import { appendFileSync, mkdtempSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { followFile, tailLines } from "../../providers/docker/logs.ts";

const dir = mkdtempSync(join(tmpdir(), "molthub-docker-logs-"));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** Collects lines until `n` arrived (then aborts) or the timeout passes. */
async function take(iter: AsyncIterable<string>, ctl: AbortController, n: number, timeoutMs = 5_000): Promise<string[]> {
  const out: string[] = [];
  const timer = setTimeout(() => ctl.abort(), timeoutMs);
  for await (const line of iter) {
    out.push(line);
    if (out.length >= n) ctl.abort();
  }
  clearTimeout(timer);
  return out;
}

describe("tailLines", () => {
  it("returns the last n lines of a large file", async () => {
    const f = join(dir, "big.log");
    writeFileSync(f, `${Array.from({ length: 20_000 }, (_, i) => `line ${i} ${"x".repeat(40)}`).join("\n")}\n`);
    const { lines } = await tailLines(f, 3);
    expect(lines.map((l) => l.split(" ").slice(0, 2).join(" "))).toEqual(["line 19997", "line 19998", "line 19999"]);
  });

  it("returns the whole file when it is short, and nothing for n = 0", async () => {
    const f = join(dir, "short.log");
    writeFileSync(f, "a\nb\n");
    expect((await tailLines(f, 10)).lines).toEqual(["a", "b"]);
    expect((await tailLines(f, 0)).lines).toEqual([]);
  });
});

describe("followFile", () => {
  it("without follow yields the tail and ends", async () => {
    const f = join(dir, "once.log");
    writeFileSync(f, "1\n2\n3\n");
    const out: string[] = [];
    for await (const l of followFile(f, { follow: false, tail: 2 }, AbortSignal.timeout(5_000))) out.push(l);
    expect(out).toEqual(["2", "3"]);
  });

  it("follows appends, a partial line only once complete, then truncation and replacement", async () => {
    const f = join(dir, "follow.log");
    writeFileSync(f, "old\n");
    const ctl = new AbortController();
    const got = take(followFile(f, { follow: true, tail: 1 }, ctl.signal), ctl, 5);
    await new Promise((r) => setTimeout(r, 150));
    appendFileSync(f, "new 1\nnew");
    await new Promise((r) => setTimeout(r, 600));
    appendFileSync(f, " 2\n");
    await new Promise((r) => setTimeout(r, 600));
    writeFileSync(f, "after truncate\n");
    await new Promise((r) => setTimeout(r, 600));
    writeFileSync(`${f}.next`, "after rotate\n");
    renameSync(`${f}.next`, f);
    expect(await got).toEqual(["old", "new 1", "new 2", "after truncate", "after rotate"]);
  });

  it("an abort ends a quiet follow promptly", async () => {
    const f = join(dir, "quiet.log");
    writeFileSync(f, "");
    const ctl = new AbortController();
    const t = performance.now();
    setTimeout(() => ctl.abort(), 200);
    const out: string[] = [];
    for await (const l of followFile(f, { follow: true }, ctl.signal)) out.push(l);
    expect(out).toEqual([]);
    expect(performance.now() - t).toBeLessThan(1_500);
  });
});
