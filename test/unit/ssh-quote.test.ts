/**
 * shellQuote / buildRemoteCommand: the command-injection payload table, proven by running the quoted command line
 * through a real local `sh -c` (what the remote login shell does with an ssh exec request) and checking every
 * argument comes back byte-identical. Also host-key fingerprints and the generated appliance key pair.
 */
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { describe, expect, it } from "vitest";
import {
  decideHostKey,
  fingerprintOfPublicKeyLine,
  fingerprintSha256,
  keyTypeOf,
  normalizeFingerprint,
} from "../../src/ssh/hostkey.ts";
import { generateEd25519KeyPair, publicKeyLineOf } from "../../src/ssh/keys.ts";
import { assertNotOption, buildRemoteCommand, quoteArg, ShellQuoteError, shellQuote } from "../../src/ssh/quote.ts";

/** Every payload an attacker-controlled field might carry (NUL is refused separately). */
const INJECTION_PAYLOADS: string[] = [
  "; touch /tmp/pwned",
  "a;b",
  "| cat /etc/passwd",
  "`id`",
  "$(id)",
  "$(touch /tmp/pwned)",
  "& echo bg",
  "&& echo and",
  "|| echo or",
  "line1\nline2",
  "\ntouch /tmp/pwned",
  "cr\rcr",
  "\r\n",
  "-rf",
  "--foo=bar",
  "-",
  "--",
  "'",
  "''",
  "'\\''",
  '"',
  '"$HOME"',
  "it's",
  "a b  c",
  " leading and trailing ",
  "\ttab",
  "*",
  "/etc/*",
  "?",
  "[a-z]",
  "{a,b}",
  "~",
  "~root",
  "$HOME",
  "${HOME}",
  "$((1+1))",
  "\\",
  "\\n",
  "!",
  "!!",
  "#comment",
  "a=b",
  "> /tmp/pwned",
  "< /etc/passwd",
  "2>&1",
  "()",
  "ünïcødé ✓",
  "",
  "plain",
];

/** `sh -c script` locally (Bun.spawn), as the remote login shell runs an ssh exec request. */
function runLocalSh(script: string): { stdout: Buffer; status: number | null } {
  const r = Bun.spawnSync(["sh", "-c", script], {
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", HOME: "/nonexistent-home" },
  });
  return { stdout: Buffer.from(r.stdout), status: r.exitCode };
}

describe("shellQuote", () => {
  it("passes every payload through a real sh byte-identical, as exactly one argument each", () => {
    const argv = ["printf", "%s\\0", ...INJECTION_PAYLOADS];
    const r = runLocalSh(shellQuote(argv));
    expect(r.status).toBe(0);
    const back = r.stdout.toString("utf8").split("\0");
    expect(back.pop()).toBe("");
    expect(back).toEqual(INJECTION_PAYLOADS);
  });

  it.each(INJECTION_PAYLOADS.map((p) => [JSON.stringify(p), p]))("payload %s alone as argv element", (_name, payload) => {
    const r = runLocalSh(shellQuote(["printf", "%s\\n", payload as string]));
    expect(r.status).toBe(0);
    expect(r.stdout.toString("utf8")).toBe(`${payload}\n`);
  });

  it("has no side effect: `; touch` and `$(touch …)` create nothing", () => {
    const dir = mkdtempSync(join(tmpdir(), "molthub-quote-"));
    try {
      const target = join(dir, "pwned");
      const payloads = [
        `; touch ${target}`,
        `$(touch ${target})`,
        `\`touch ${target}\``,
        `\ntouch ${target}`,
        `& touch ${target}`,
        `| touch ${target}`,
        `> ${target}`,
      ];
      for (const p of payloads) runLocalSh(shellQuote(["printf", "%s\\n", p]));
      expect(spawnSync("test", ["-e", target]).status).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("quotes the command name too (argv[0] is a value like any other)", () => {
    expect(shellQuote(["a=b", "x"])).toBe("'a=b' x");
    expect(shellQuote(["my cmd"])).toBe("'my cmd'");
    expect(runLocalSh(shellQuote(["no such;cmd"])).status).toBe(127);
  });

  it("leaves plain words alone and quotes the rest", () => {
    expect(quoteArg("abc-1.2/x_y:z,@%+")).toBe("abc-1.2/x_y:z,@%+");
    expect(quoteArg("")).toBe("''");
    expect(quoteArg("it's")).toBe(`'it'\\''s'`);
    expect(quoteArg("~")).toBe("'~'");
  });

  it("refuses NUL with a clear error, wherever it is", () => {
    for (const v of ["\0", "a\0b", "trailing\0"]) {
      expect(() => shellQuote(["printf", "%s", v])).toThrow(ShellQuoteError);
      expect(() => shellQuote(["printf", "%s", v])).toThrow(/argument 2 contains a NUL byte/);
    }
    expect(() => shellQuote([])).toThrow(/empty command/);
  });

  it("assertNotOption refuses leading '-' and names the field", () => {
    expect(() => assertNotOption("-rf", "unit name")).toThrow(/unit name must not start with "-"/);
    expect(() => assertNotOption("--foo=bar", "path")).toThrow(ShellQuoteError);
    expect(() => assertNotOption("ok-value", "path")).not.toThrow();
  });
});

describe("buildRemoteCommand", () => {
  it("execs the command, with env values quoted and names validated", () => {
    expect(buildRemoteCommand(["id", "-un"])).toBe("exec id -un");
    const cmd = buildRemoteCommand(["sh", "-c", 'printf "%s" "$V"'], { V: "; touch /tmp/pwned $(id)\n'" });
    const r = runLocalSh(cmd);
    expect(r.stdout.toString("utf8")).toBe("; touch /tmp/pwned $(id)\n'");
    expect(() => buildRemoteCommand(["id"], { "A;B": "x" })).toThrow(/invalid environment variable name/);
    expect(() => buildRemoteCommand(["id"], { "-i": "x" })).toThrow(/invalid environment variable name/);
    expect(() => buildRemoteCommand(["X=y"], { A: "b" })).toThrow(/must not contain "="/);
    expect(() => buildRemoteCommand(["id"], { A: "x\0" })).toThrow(/NUL/);
  });
});

describe("host key fingerprints and appliance keys", () => {
  it("matches ssh-keygen -lf for a generated key, and the key pair round-trips through ssh-keygen", () => {
    const kp = generateEd25519KeyPair("molthub-test");
    expect(kp.publicKey).toMatch(/^ssh-ed25519 [A-Za-z0-9+/]+=* molthub-test$/);
    expect(kp.privateKey).toContain("BEGIN OPENSSH PRIVATE KEY");
    expect(publicKeyLineOf(kp.privateKey, "molthub-test")).toBe(kp.publicKey);
    const blob = Buffer.from(kp.publicKey.split(" ")[1]!, "base64");
    expect(keyTypeOf(blob)).toBe("ssh-ed25519");
    expect(fingerprintSha256(blob)).toBe(kp.fingerprint);
    const keygen = spawnSync("ssh-keygen", ["-V"]);
    if (keygen.error) return; // openssh-client not installed: the integration test covers this against sshd
    const dir = mkdtempSync(join(tmpdir(), "molthub-keys-"));
    try {
      writeFileSync(join(dir, "k.pub"), `${kp.publicKey}\n`);
      writeFileSync(join(dir, "k"), kp.privateKey, { mode: 0o600 });
      const lf = spawnSync("ssh-keygen", ["-lf", join(dir, "k.pub")]).stdout.toString();
      expect(lf.split(" ")[1]).toBe(kp.fingerprint);
      const y = spawnSync("ssh-keygen", ["-y", "-f", join(dir, "k")])
        .stdout.toString()
        .trim();
      expect(y.split(" ").slice(0, 2)).toEqual(kp.publicKey.split(" ").slice(0, 2));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("decides: pinned match accepts, mismatch refuses with both fingerprints, probe never accepts", () => {
    const a = Buffer.from(generateEd25519KeyPair().publicKey.split(" ")[1]!, "base64");
    const b = Buffer.from(generateEd25519KeyPair().publicKey.split(" ")[1]!, "base64");
    const fa = fingerprintSha256(a);
    expect(decideHostKey({ mode: "pinned", fingerprint: fa }, a)).toEqual({ accept: true, fingerprint: fa });
    expect(decideHostKey({ mode: "pinned", fingerprint: `${fa.slice(7)}=` }, a).accept).toBe(true);
    const d = decideHostKey({ mode: "pinned", fingerprint: fa }, b);
    expect(d).toMatchObject({ accept: false, reason: "mismatch", expected: fa, fingerprint: fingerprintSha256(b) });
    expect(decideHostKey({ mode: "probe" }, a)).toMatchObject({
      accept: false,
      reason: "probe",
      fingerprint: fa,
      keyType: "ssh-ed25519",
    });
    expect(() => normalizeFingerprint("MD5:aa:bb")).toThrow(/not a SHA256/);
    expect(fingerprintOfPublicKeyLine(`ssh-ed25519 ${a.toString("base64")} c`)).toBe(fa);
  });
});

describe("generated keys", () => {
  it("always parse back with ssh2 (its generator occasionally writes one it cannot read)", async () => {
    const { utils } = await import("ssh2");
    const { generateEd25519KeyPair } = await import("../../src/ssh/keys.ts");
    for (let i = 0; i < 400; i++) expect(utils.parseKey(generateEd25519KeyPair("k").privateKey)).not.toBeInstanceOf(Error);
  });
});
