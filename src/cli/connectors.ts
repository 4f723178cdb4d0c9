import { parseArgs } from "node:util";
import { stringify as toYaml } from "yaml";
import type { ApiClient } from "./client.ts";
import { CliError, confirm, printTable, readSecret } from "./io.ts";

export const USAGE = `Connectors (shared credentials; values on stdin or a prompt, never in argv)
  connector list [-o json]
  connector get NAME [-o json|yaml]
  connector add NAME --type anthropic|openai|openrouter|ollama|telegram|discord|slack [--base-url URL] [--secret EXISTING]
                             (slack: bot token, then app token, one per line)
  connector test NAME        one real call to the provider's API; exit 1 when it fails
  connector rotate NAME [--dry-run] [--yes]   new value on stdin; shows the bots that restart first
  connector rollouts NAME    per-bot delivery of rotated values
  connector bind NAME --bot BOT | connector unbind NAME --bot BOT
  connector delete NAME`;

interface Connector {
  name: string;
  type: string;
  label: string;
  secret: string | null;
  settings: { baseUrl?: string; appTokenSecret?: string };
  baseUrl: string;
  env: string[];
  boundBots: string[];
  lastTest: { at: number; ok: boolean; message: string } | null;
}

interface Rotation {
  dryRun: boolean;
  secrets: { secret: string; version: number }[];
  bots: { bot: string; env: string[]; bound: boolean; method: string }[];
}

const path = (name: string) => `/api/v1/connectors/${encodeURIComponent(name)}`;

/** The credential lines: piped stdin is read once (one value per line); a terminal is asked per value. */
async function readValues(prompts: string[]): Promise<string[]> {
  if (!process.stdin.isTTY) {
    const lines = (await new Response(Bun.stdin.stream()).text()).split(/\r?\n/);
    const out = prompts.map((_, i) => lines[i] ?? "");
    const missing = prompts.filter((_, i) => !out[i]);
    if (missing.length)
      throw new CliError(
        `expected on standard input, one per line: ${prompts.map((p) => p.replace(/: $/, "")).join(", ")} (e.g. \`printf '%s\\n' "$KEY" | molthub connector …\`)`,
      );
    return out;
  }
  const out: string[] = [];
  for (const p of prompts) out.push(await readSecret(p));
  return out;
}

function printRotation(name: string, r: Rotation): void {
  const versions = r.secrets.map((s) => `${s.secret} v${s.version}`).join(", ");
  if (!r.bots.length) {
    console.log(`${r.dryRun ? "would store" : "stored"} ${versions}; no bot uses connector/${name}'s credential`);
    return;
  }
  console.log(
    `${r.dryRun ? "would store" : "stored"} ${versions}; ${r.dryRun ? "these bots would take" : "rolling out to"} the new value:`,
  );
  printTable(
    r.bots.map((b) => ({ bot: b.bot, env: b.env.join(","), via: b.bound ? "connector" : "manifest", method: b.method })),
    ["bot", "env", "via", "method"],
  );
}

/** The flags of `molthub connector …`; a wrong one is a usage error. */
function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      options: {
        type: { type: "string" },
        secret: { type: "string" },
        "base-url": { type: "string" },
        bot: { type: "string" },
        output: { type: "string", short: "o" },
        yes: { type: "boolean", short: "y" },
        "dry-run": { type: "boolean" },
      },
      allowPositionals: true,
      strict: true,
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n${USAGE}`, 2);
  }
}

export async function run(client: ApiClient, argv: string[]): Promise<number> {
  const { values: v, positionals } = parseFlags(argv.slice(1));
  const [sub, name] = positionals;
  const need = (what: string) => {
    if (!name) throw new CliError(`usage: molthub connector ${what}`, 2);
    return name;
  };
  switch (sub) {
    case "list": {
      const r = await client.call<{ items: Connector[] }>("GET", "/api/v1/connectors");
      if (v.output === "json") console.log(JSON.stringify(r.items, null, 2));
      else
        printTable(
          r.items.map((c) => ({
            name: c.name,
            type: c.type,
            env: c.env.join(","),
            test: c.lastTest ? (c.lastTest.ok ? "ok" : "failed") : "-",
            bots: c.boundBots.join(",") || "-",
          })),
          ["name", "type", "env", "test", "bots"],
        );
      return 0;
    }
    case "get": {
      const c = await client.call<Connector>("GET", path(need("get NAME")));
      if (v.output === "json") console.log(JSON.stringify(c, null, 2));
      else if (v.output === "yaml") process.stdout.write(toYaml(c));
      else {
        console.log(`connector/${c.name} (${c.label})`);
        console.log(`  base URL:  ${c.baseUrl}`);
        console.log(`  secret:    ${[c.secret, c.settings.appTokenSecret].filter(Boolean).join(", ") || "-"}`);
        console.log(`  delivers:  ${c.env.join(", ") || "-"}`);
        console.log(`  bots:      ${c.boundBots.join(", ") || "-"}`);
        console.log(
          `  last test: ${c.lastTest ? `${c.lastTest.ok ? "ok" : "FAILED"} — ${c.lastTest.message} (${new Date(c.lastTest.at).toISOString()})` : "never"}`,
        );
      }
      return 0;
    }
    case "add": {
      const n = need("add NAME --type TYPE [--base-url URL] [--secret EXISTING]");
      if (!v.type)
        throw new CliError(
          "usage: molthub connector add NAME --type TYPE (anthropic, openai, openrouter, ollama, telegram, discord, slack)",
          2,
        );
      const body: Record<string, unknown> = { name: n, type: v.type };
      if (v["base-url"]) body.settings = { baseUrl: v["base-url"] };
      if (v.secret) body.secret = v.secret;
      const prompts =
        v.type === "ollama"
          ? []
          : v.type === "slack"
            ? [...(v.secret ? [] : ["Slack bot token (xoxb-…): "]), "Slack app-level token (xapp-…): "]
            : v.secret
              ? []
              : [`${v.type} key or token: `];
      const vals = prompts.length ? await readValues(prompts) : [];
      if (v.type === "slack") {
        if (!v.secret) body.value = vals.shift();
        body.appToken = vals.shift();
      } else if (vals.length) body.value = vals[0];
      const c = await client.call<Connector>("POST", "/api/v1/connectors", body);
      console.log(
        `connector/${c.name} created (${c.label}; delivers ${c.env.join(", ") || "config only"}); test it with: molthub connector test ${c.name}`,
      );
      return 0;
    }
    case "test": {
      const r = await client.call<{ ok: boolean; message: string }>("POST", `${path(need("test NAME"))}/test`);
      console.log(`${r.ok ? "ok" : "FAILED"}: ${r.message}`);
      return r.ok ? 0 : 1;
    }
    case "rotate": {
      const n = need("rotate NAME [--dry-run] [--yes] (new value on stdin)");
      if (v["dry-run"]) {
        printRotation(n, await client.call<Rotation>("POST", `${path(n)}/rotate?dryRun=true`, {}));
        return 0;
      }
      const c = await client.call<Connector>("GET", path(n));
      if (!c.secret) throw new CliError(`connector/${n} (${c.label}) has no credential to rotate`, 2);
      if (!v.yes) {
        printRotation(n, await client.call<Rotation>("POST", `${path(n)}/rotate?dryRun=true`, {}));
        if (!process.stdin.isTTY)
          throw new CliError("add --yes to rotate (the new value comes on stdin, so there is no prompt to confirm)", 2);
        if (!(await confirm("Rotate now? [y/N] "))) {
          console.log("not rotated");
          return 1;
        }
      }
      const slack = c.type === "slack";
      const vals = await readValues(
        slack ? ["New Slack bot token (xoxb-…): ", "New Slack app-level token (xapp-…): "] : ["New key or token: "],
      );
      const r = await client.call<Rotation>(
        "POST",
        `${path(n)}/rotate`,
        slack ? { value: vals[0], appToken: vals[1] } : { value: vals[0] },
      );
      printRotation(n, r);
      if (r.bots.length) console.log(`follow it with: molthub connector rollouts ${n}`);
      return 0;
    }
    case "rollouts": {
      const r = await client.call<{
        items: { bot: string; secret: string; version: number; state: string; method: string | null; message: string }[];
      }>("GET", `${path(need("rollouts NAME"))}/rollouts`);
      if (v.output === "json") console.log(JSON.stringify(r.items, null, 2));
      else
        printTable(
          r.items.map((i) => ({
            bot: i.bot,
            secret: `${i.secret} v${i.version}`,
            state: i.state,
            method: i.method,
            message: i.message,
          })),
          ["bot", "secret", "state", "method", "message"],
        );
      return 0;
    }
    case "bind":
    case "unbind": {
      const n = need(`${sub} NAME --bot BOT`);
      if (!v.bot) throw new CliError(`usage: molthub connector ${sub} NAME --bot BOT`, 2);
      const r =
        sub === "bind"
          ? await client.call<{ action: string; revision: number }>(
              "POST",
              `/api/v1/bots/${encodeURIComponent(v.bot)}/connectors`,
              { connector: n },
            )
          : await client.call<{ action: string; revision: number }>(
              "DELETE",
              `/api/v1/bots/${encodeURIComponent(v.bot)}/connectors/${encodeURIComponent(n)}`,
            );
      console.log(
        r.action === "unchanged"
          ? `bot/${v.bot} unchanged`
          : `bot/${v.bot} ${sub === "bind" ? "bound to" : "unbound from"} connector/${n}: revision ${r.revision} queued`,
      );
      return 0;
    }
    case "delete": {
      const n = need("delete NAME");
      const r = await client.call<{ secretsDeleted: string[]; secretsKept: string[] }>("DELETE", path(n));
      console.log(
        `connector/${n} deleted${r.secretsDeleted.length ? ` with its secret ${r.secretsDeleted.join(", ")}` : ""}${r.secretsKept.length ? `; kept ${r.secretsKept.join(", ")} (still used or not made by it)` : ""}`,
      );
      return 0;
    }
    default:
      throw new CliError(`unknown command: connector ${sub ?? ""}\n${USAGE}`, 2);
  }
}
