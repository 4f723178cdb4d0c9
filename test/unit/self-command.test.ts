import { describe, expect, it } from "vitest";
import { selfCommand } from "../../src/cli/self-command.ts";

describe("selfCommand: the command a hint tells the user to run", () => {
  it("is the compiled binary by the path it was started with", () => {
    expect(selfCommand("/$bunfs/root/molthub", "/usr/local/bin/molthub", "/home/me")).toBe("/usr/local/bin/molthub");
  });

  it("is `npx bun src/main.ts` in a checkout, where no `molthub` command exists", () => {
    expect(selfCommand("/home/me/molthub/src/main.ts", "/home/me/molthub/node_modules/bun/bin/bun.exe", "/home/me/molthub")).toBe(
      "npx bun src/main.ts",
    );
  });

  it("names the entry point by its full path from anywhere else", () => {
    expect(selfCommand("/opt/molthub/src/main.ts", "/usr/bin/bun", "/tmp")).toBe("bun /opt/molthub/src/main.ts");
  });
});
