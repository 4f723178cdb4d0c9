import { readFileSync } from "node:fs";
import { parseArgs } from "node:util";
import { parse as parseYaml, stringify as toYaml } from "yaml";
import { readManifestFiles } from "./bots.ts";
import type { ApiClient } from "./client.ts";
import { blocking, type Evaluation, type Excepted, printFindings, type Violation } from "./findings.ts";
import { CliError, printTable } from "./io.ts";

interface Findings extends Evaluation {
  bot: string;
  revision: number;
}
interface Pack {
  id: string;
  name: string;
  description: string;
  builtin: boolean;
  enabled: boolean;
  mode: string;
  defaultMode: string;
  scope: Record<string, unknown> | null;
  ruleCount: number;
  violating?: string[];
  blocking?: string[];
}
interface Change {
  pack: Pack | null;
  action: string;
  dryRun: boolean;
  violating: Findings[];
}
interface Exception {
  id: string;
  ruleId: string;
  botName: string | null;
  reason: string;
  expiresAt: number;
  createdBy: string;
  state: string;
}

export const USAGE = `Policies
  policy list [-o json|yaml]          packs with mode, scope, rule count and the bots violating them
  policy get ID [-o json|yaml]        a pack's rules (and its YAML)
  policy apply -f PACK.yaml [--dry-run]   create or replace a custom pack (YAML or JSON)
  policy enable ID [enforce|advisory] | policy disable ID | policy delete ID
  policy check -f MANIFEST            dry run: violations and fixes; exit 1 when an apply would be blocked
  policy except --rule R [--bot B] --reason "…" --expires 2026-12-31
  policy exceptions [-o json]  |  policy revoke ID`;

function scopeText(s: Record<string, unknown> | null): string {
  if (!s) return "all bots";
  const parts: string[] = [];
  if (s.workspace) parts.push(`workspace=${s.workspace}`);
  if (Array.isArray(s.fleets)) parts.push(`fleet in ${s.fleets.join(",")}`);
  if (Array.isArray(s.environments)) parts.push(`env in ${s.environments.join(",")}`);
  if (s.labels && typeof s.labels === "object") for (const [k, v] of Object.entries(s.labels)) parts.push(`${k}=${v}`);
  return parts.join(" ") || "all bots";
}

function printReport(violating: Findings[]): void {
  if (!violating.length) return void console.log("no bot violates a policy now");
  const blocked = violating.filter((f) => f.blocked);
  console.log(
    `${violating.length} bot${violating.length === 1 ? "" : "s"} with findings${blocked.length ? `; ${blocked.length} blocked (the reconciler will not apply their current revision): ${blocked.map((f) => f.bot).join(", ")}` : ""}`,
  );
  for (const f of violating) printFindings(`  bot/${f.bot} (revision ${f.revision})`, f);
}

function out(v: unknown, format: string | undefined): boolean {
  if (format === "json") console.log(JSON.stringify(v, null, 2));
  else if (format === "yaml") console.log(toYaml(v));
  else return false;
  return true;
}

async function readText(path: string): Promise<string> {
  if (path === "-") return new Response(Bun.stdin.stream()).text();
  try {
    return readFileSync(path, "utf8");
  } catch {
    throw new CliError(`cannot read ${path}: no such file`);
  }
}

const enc = encodeURIComponent;

export async function run(client: ApiClient, argv: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args: argv.slice(1),
    allowPositionals: true,
    strict: false,
    options: {
      file: { type: "string", short: "f" },
      output: { type: "string", short: "o" },
      "dry-run": { type: "boolean" },
      rule: { type: "string" },
      bot: { type: "string" },
      reason: { type: "string" },
      expires: { type: "string" },
      yes: { type: "boolean" },
    },
  });
  const [sub, arg, extra] = positionals;
  const output = values.output as string | undefined;
  const need = (what: string) => {
    if (!arg) throw new CliError(`usage: molthub policy ${sub} ${what}`, 2);
    return arg;
  };
  switch (sub) {
    case "list":
    case undefined: {
      const { items } = await client.call<{ items: Pack[] }>("GET", "/api/v1/policies");
      if (out(items, output)) return 0;
      printTable(
        items.map((p) => ({
          ...p,
          kind: p.builtin ? "built-in" : "custom",
          state: p.enabled ? "on" : "off",
          mode: p.mode === p.defaultMode ? p.mode : `${p.mode}*`,
          rules: p.ruleCount,
          scope: scopeText(p.scope),
          violating: p.enabled
            ? p.violating?.length
              ? p.violating.map((b) => (p.blocking?.includes(b) ? `${b}!` : b)).join(",")
              : "-"
            : "-",
        })),
        ["id", "kind", "state", "mode", "rules", "scope", "violating"],
      );
      return 0;
    }
    case "get": {
      const p = await client.call<
        Pack & { yaml: string; findings: { bot: string; violations: Violation[]; excepted: Excepted[] }[] }
      >("GET", `/api/v1/policies/${enc(need("ID"))}`);
      if (out(p, output)) return 0;
      console.log(
        `Pack:   ${p.id} — ${p.name}${p.builtin ? " (built-in)" : ""}\nState:  ${p.enabled ? "enabled" : "disabled"}, ${p.mode}${p.mode !== p.defaultMode ? ` (pack default: ${p.defaultMode})` : ""}\nScope:  ${scopeText(p.scope)}\n${p.description ? `About:  ${p.description}\n` : ""}`,
      );
      console.log(p.yaml.trimEnd());
      if (p.findings.length) {
        console.log("\nFindings now:");
        for (const f of p.findings)
          printFindings(`  bot/${f.bot}`, {
            blocked: f.violations.some(blocking),
            violations: f.violations,
            excepted: f.excepted,
          });
      }
      return 0;
    }
    case "apply": {
      if (!values.file) throw new CliError("usage: molthub policy apply -f PACK.yaml [--dry-run]", 2);
      const text = await readText(values.file as string);
      let id: unknown;
      try {
        const doc = text.trim().startsWith("{") ? JSON.parse(text) : parseYaml(text);
        id = (doc as { id?: unknown } | null)?.id;
      } catch (e) {
        throw new CliError(`${values.file}: not valid YAML or JSON: ${(e as Error).message}`);
      }
      if (typeof id !== "string" || !id) throw new CliError(`${values.file}: the pack has no id; add \`id: my-pack\``);
      const dry = !!values["dry-run"];
      const r = await client.call<Change>("PUT", `/api/v1/policies/${enc(id)}${dry ? "?dryRun=true" : ""}`, { text });
      console.log(
        `policy/${id} ${dry ? `would be ${r.action} (nothing saved)` : r.action}${r.pack ? ` — ${r.pack.mode}, ${r.pack.ruleCount} rule${r.pack.ruleCount === 1 ? "" : "s"}` : ""}`,
      );
      printReport(r.violating);
      return 0;
    }
    case "enable":
    case "disable": {
      const id = need(sub === "enable" ? "ID [enforce|advisory]" : "ID");
      if (extra !== undefined && (sub === "disable" || (extra !== "enforce" && extra !== "advisory")))
        throw new CliError("usage: molthub policy enable ID [enforce|advisory]", 2);
      const r = await client.call<Change>("POST", `/api/v1/policies/${enc(id)}/${sub}`, extra ? { mode: extra } : undefined);
      console.log(`policy/${id} ${r.action}${r.pack?.enabled ? ` (${r.pack.mode})` : ""}`);
      printReport(r.violating);
      return 0;
    }
    case "delete": {
      const id = need("ID");
      const r = await client.call<Change>("DELETE", `/api/v1/policies/${enc(id)}`);
      console.log(`policy/${id} deleted`);
      printReport(r.violating);
      return 0;
    }
    case "check": {
      if (!values.file) throw new CliError("usage: molthub policy check -f MANIFEST", 2);
      let blocked = 0;
      for (const { source, doc } of await readManifestFiles(values.file as string)) {
        try {
          const r = await client.call<Evaluation & { name: string; action: string }>("POST", "/api/v1/policies/evaluate", doc);
          if (r.blocked) blocked++;
          printFindings(`bot/${r.name}`, r);
        } catch (e) {
          blocked++;
          console.error(`${source}: ${(e as Error).message}`);
        }
      }
      return blocked ? 1 : 0;
    }
    case "except": {
      if (!values.rule || !values.reason || !values.expires)
        throw new CliError('usage: molthub policy except --rule RULE [--bot BOT] --reason "why" --expires YYYY-MM-DD', 2);
      const r = await client.call<{ exception: Exception; violating: Findings[] }>("POST", "/api/v1/policy-exceptions", {
        ruleId: values.rule,
        ...(values.bot ? { botName: values.bot } : {}),
        reason: values.reason,
        expiresAt: values.expires,
      });
      const e = r.exception;
      console.log(
        `exception ${e.id}: ${e.ruleId} waived for ${e.botName ? `bot/${e.botName}` : "every bot"} until ${new Date(e.expiresAt).toISOString()}`,
      );
      printReport(r.violating);
      return 0;
    }
    case "exceptions": {
      const { items } = await client.call<{ items: Exception[] }>("GET", "/api/v1/policy-exceptions");
      if (out(items, output)) return 0;
      printTable(
        items.map((e) => ({
          ...e,
          bot: e.botName ?? "(all)",
          expires: new Date(e.expiresAt).toISOString().slice(0, 16).replace("T", " "),
        })),
        ["id", "ruleId", "bot", "state", "expires", "createdBy", "reason"],
      );
      return 0;
    }
    case "revoke": {
      const id = need("ID");
      const r = await client.call<{ exception: Exception; violating: Findings[] }>(
        "DELETE",
        `/api/v1/policy-exceptions/${enc(id)}`,
      );
      console.log(`exception ${id} (${r.exception.ruleId}) revoked; the rule applies again`);
      printReport(r.violating);
      return 0;
    }
  }
  throw new CliError(`unknown command: policy ${sub}\n${USAGE}`, 2);
}
