import { readFileSync } from "node:fs";
import { createInterface } from "node:readline";
import { stringify as toYaml } from "yaml";
import type { ApiClient } from "./client.ts";
import { CliError, printTable } from "./io.ts";

interface Finding {
  id: string;
  level: "ok" | "warn" | "error";
  message: string;
  fix: string;
}
interface Host {
  name: string;
  address: string;
  port: number;
  username: string;
  authKind: string;
  publicKey: string;
  fingerprint: string | null;
  seenFingerprint: string | null;
  status: string;
  statusReason: string;
  os: string | null;
  init: string | null;
  doctor: { ts: number; findings: Finding[] } | null;
  lastSeenAt: number | null;
  bots: number;
}
interface HostEvent {
  id: number;
  ts: number;
  level: string;
  type: string;
  message: string;
}

export const USAGE = `  host add NAME --address A --user U [--ssh-port P] [--key-file F] [--fingerprint SHA256:… | --yes]
                             register an SSH host; prints the public key for authorized_keys and the host key
                             fingerprint to confirm (asks unless --fingerprint or --yes)
  host trust NAME --fingerprint SHA256:…   pin (or, after a key change, re-trust) the confirmed fingerprint
  host doctor NAME           check OS, systemd/launchd, lingering, Node, OpenClaw, ports, disk, memory
  host install NAME VERSION  install OpenClaw VERSION (with Node) on the host via npm; an existing one is kept
  host get [NAME] [-o json|yaml]   list hosts, or one host with findings, bots and events
  host delete NAME           remove a host no bot uses`;

/** argv: ["host", sub, ...positionals, "--flag", "value", "--bool"] as main.ts passes it. */
export function parseArgv(argv: string[]): { positionals: string[]; flags: Record<string, string | true> } {
  const positionals: string[] = [];
  const flags: Record<string, string | true> = {};
  const booleans = new Set(["yes", "dry-run", "purge"]);
  for (let i = 1; i < argv.length; i++) {
    const a = argv[i]!;
    if (a.startsWith("--")) {
      const k = a.slice(2);
      if (booleans.has(k) || i + 1 >= argv.length || argv[i + 1]!.startsWith("--")) flags[k] = true;
      else flags[k] = argv[++i]!;
    } else positionals.push(a);
  }
  return { positionals, flags };
}

async function ask(question: string): Promise<string> {
  const rl = createInterface({ input: process.stdin, output: process.stderr, terminal: false });
  process.stderr.write(question);
  try {
    return await new Promise<string>((resolve) => {
      let done = false;
      rl.once("line", (l) => {
        done = true;
        resolve(l.trim());
      });
      rl.once("close", () => {
        if (!done) resolve("");
      });
    });
  } finally {
    rl.close();
  }
}

const str = (v: string | true | undefined): string | undefined => (typeof v === "string" ? v : undefined);
const enc = encodeURIComponent;

function printFindings(findings: Finding[]): void {
  for (const f of findings) {
    console.log(
      `${f.level === "ok" ? "ok  " : f.level === "warn" ? "WARN" : "FAIL"}  ${f.id}: ${f.message}${f.fix ? `\n      → ${f.fix}` : ""}`,
    );
  }
}

function describe(h: Host, bots: { name: string; status: string }[], events: HostEvent[]): void {
  console.log(`Name:         ${h.name}
Address:      ${h.username}@${h.address}:${h.port}
Status:       ${h.status}${h.statusReason ? ` — ${h.statusReason}` : ""}
Fingerprint:  ${h.fingerprint ?? "(not confirmed)"}${h.seenFingerprint && h.seenFingerprint !== h.fingerprint ? `\nPresents:     ${h.seenFingerprint}` : ""}
OS / init:    ${h.os ?? "-"} / ${h.init ?? "-"}
Last seen:    ${h.lastSeenAt ? new Date(h.lastSeenAt).toISOString() : "never"}
Key:          ${h.authKind}; public key for authorized_keys:
  ${h.publicKey}`);
  if (h.doctor?.findings?.length) {
    console.log(`\nDoctor (${new Date(h.doctor.ts).toISOString()}):`);
    printFindings(h.doctor.findings);
  }
  console.log(`\nBots: ${bots.length ? bots.map((b) => `${b.name} (${b.status})`).join(", ") : "none"}`);
  if (events.length) {
    console.log("\nEvents:");
    for (const e of events.slice(0, 15).reverse())
      console.log(`  ${new Date(e.ts).toISOString()}  ${e.level.padEnd(5)}  ${e.message}`);
  }
}

export async function run(client: ApiClient, argv: string[]): Promise<number> {
  const [sub, ...rest] = parseArgv(argv).positionals;
  const { flags } = parseArgv(argv);
  const need = (usage: string) => {
    if (!rest[0]) throw new CliError(`usage: molthub host ${usage}`, 2);
    return rest[0];
  };
  switch (sub) {
    case "add": {
      const name = need("add NAME --address A --user U [--ssh-port P] [--key-file F]");
      const address = str(flags.address);
      const username = str(flags.user);
      if (!address || !username)
        throw new CliError("usage: molthub host add NAME --address A --user U [--ssh-port P] [--key-file F]", 2);
      const body: Record<string, unknown> = { name, address, username };
      if (flags["ssh-port"] !== undefined) {
        const p = Number(flags["ssh-port"]);
        if (!Number.isInteger(p) || p < 1 || p > 65535) throw new CliError("--ssh-port must be a port number (1-65535)", 2);
        body.port = p;
      }
      const keyFile = str(flags["key-file"]);
      if (keyFile) {
        try {
          body.privateKey = readFileSync(keyFile, "utf8");
        } catch (e) {
          throw new CliError(`cannot read --key-file ${keyFile}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
        }
      }
      const r = await client.call<{ host: Host; publicKey: string; probeError: string | null }>("POST", "/api/v1/hosts", body);
      console.log(
        `host/${name} added (${r.host.authKind === "generated" ? "appliance-generated ed25519 key" : "uploaded key"}).`,
      );
      console.log(`\nAdd this line to ~${username}/.ssh/authorized_keys on ${address}:\n\n  ${r.publicKey}\n`);
      if (r.probeError || !r.host.seenFingerprint) {
        console.log(
          `Could not read the host key yet: ${r.probeError ?? "no key"}\nFix it, then: molthub host trust ${name} --fingerprint SHA256:…`,
        );
        return 1;
      }
      const seen = r.host.seenFingerprint;
      console.log(
        `The host presents the key\n\n  ${seen}\n\nCompare it on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub`,
      );
      let fp = str(flags.fingerprint);
      if (!fp) {
        if (flags.yes === true) fp = seen;
        else {
          const a = (await ask("trust this fingerprint? [y/N] ")).toLowerCase();
          if (a !== "y" && a !== "yes") {
            console.log(`not trusted; when you have compared it: molthub host trust ${name} --fingerprint ${seen}`);
            return 0;
          }
          fp = seen;
        }
      }
      const t = await client.call<Host>("POST", `/api/v1/hosts/${enc(name)}/trust`, { fingerprint: fp });
      console.log(`fingerprint ${t.fingerprint} pinned; status: ${t.status}${t.statusReason ? ` — ${t.statusReason}` : ""}`);
      if (t.status === "ok") console.log(`next: molthub host doctor ${name}`);
      return t.status === "ok" ? 0 : 1;
    }
    case "trust": {
      const name = need("trust NAME --fingerprint SHA256:…");
      const fp = str(flags.fingerprint);
      if (!fp)
        throw new CliError(
          "usage: molthub host trust NAME --fingerprint SHA256:… (compare it on the host: ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub)",
          2,
        );
      const t = await client.call<Host>("POST", `/api/v1/hosts/${enc(name)}/trust`, { fingerprint: fp });
      console.log(
        `host/${name}: fingerprint ${t.fingerprint} pinned; status: ${t.status}${t.statusReason ? ` — ${t.statusReason}` : ""}`,
      );
      return t.status === "ok" ? 0 : 1;
    }
    case "doctor": {
      const name = need("doctor NAME");
      const h = await client.call<Host>("POST", `/api/v1/hosts/${enc(name)}/doctor`);
      if (flags.output === "json") console.log(JSON.stringify(h.doctor, null, 2));
      else {
        console.log(`host/${name}: ${h.status}${h.os ? ` — ${h.os}, ${h.init}` : ""}`);
        printFindings(h.doctor?.findings ?? []);
      }
      return h.doctor?.findings.some((f) => f.level === "error") ? 1 : 0;
    }
    case "install": {
      const name = need("install NAME VERSION");
      const version = rest[1];
      if (!version) throw new CliError("usage: molthub host install NAME VERSION", 2);
      const r = await client.call<{
        result: { outcome: string; prefix: string; nodeVersion: string | null } | null;
        finding: Finding | null;
      }>("POST", `/api/v1/hosts/${enc(name)}/install`, { version });
      if (r.finding) {
        printFindings([r.finding]);
        return 1;
      }
      console.log(
        r.result!.outcome === "present"
          ? `OpenClaw ${version} is already installed in ${r.result!.prefix}`
          : `installed OpenClaw ${version} (Node ${r.result!.nodeVersion}) into ${r.result!.prefix}`,
      );
      return 0;
    }
    case "get":
    case "list":
    case "describe": {
      const output = str(flags.output);
      if (rest[0]) {
        const d = await client.call<{ host: Host; bots: { name: string; status: string }[]; events: HostEvent[] }>(
          "GET",
          `/api/v1/hosts/${enc(rest[0])}`,
        );
        if (output === "json") console.log(JSON.stringify(d, null, 2));
        else if (output === "yaml") console.log(toYaml(d));
        else describe(d.host, d.bots, d.events);
        return 0;
      }
      const { items } = await client.call<{ items: Host[] }>("GET", "/api/v1/hosts");
      if (output === "json") console.log(JSON.stringify(items, null, 2));
      else if (output === "yaml") console.log(toYaml(items));
      else {
        printTable(
          items.map((h) => ({
            ...h,
            target: `${h.username}@${h.address}:${h.port}`,
            lastSeen: h.lastSeenAt ? new Date(h.lastSeenAt).toISOString() : null,
            fingerprint: h.fingerprint ?? "(unconfirmed)",
          })),
          ["name", "status", "target", "fingerprint", "lastSeen", "bots"],
        );
      }
      return 0;
    }
    case "delete": {
      const name = need("delete NAME");
      await client.call("DELETE", `/api/v1/hosts/${enc(name)}`);
      console.log(`host/${name} deleted`);
      return 0;
    }
  }
  throw new CliError(`unknown command: molthub host ${sub ?? ""}\nUsage:\n${USAGE}`, 2);
}
