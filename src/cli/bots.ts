import { readdirSync, readFileSync, statSync } from "node:fs";
import { extname, join } from "node:path";
import { stringify as toYaml } from "yaml";
import { type ConditionStatus, type ConditionType, isGood } from "../domain/conditions.ts";
import { ago } from "../domain/elapsed.ts";
import { ManifestError, parseManifests } from "../domain/manifest.ts";
import type { ApiClient } from "./client.ts";
import { printFindings } from "./findings.ts";
import { CliError, printTable, tableLines } from "./io.ts";
import { type BotSecret, botSecretLines } from "./vault.ts";

function nameOf(doc: unknown): string {
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return typeof name === "string" ? name : "?";
}

interface BotCondition {
  type: ConditionType;
  status: ConditionStatus;
  reason: string;
  message: string;
  since: number;
}

interface Bot {
  name: string;
  provider: string;
  host: string;
  port: number;
  status: string;
  statusReason: string;
  desiredRevision: number;
  appliedRevision: number | null;
  fleet: string | null;
  environment: string | null;
  /** absent from servers older than the conditions */
  conditions?: BotCondition[];
}
interface Change {
  path: string;
  from: unknown;
  to: unknown;
}

/** Reads manifests from a file, a directory (*.yaml, *.yml, *.json) or "-" for stdin. */
export async function readManifestFiles(path: string): Promise<{ source: string; doc: unknown }[]> {
  if (path === "-")
    return parseManifests(await new Response(Bun.stdin.stream()).text(), "stdin").map((doc) => ({ source: "stdin", doc }));
  let files: string[];
  try {
    files = statSync(path).isDirectory()
      ? readdirSync(path)
          .filter((f) => [".yaml", ".yml", ".json"].includes(extname(f)))
          .sort()
          .map((f) => join(path, f))
      : [path];
  } catch {
    throw new CliError(`cannot read ${path}: no such file or directory`);
  }
  if (!files.length) throw new CliError(`${path} holds no .yaml, .yml or .json files`);
  const out: { source: string; doc: unknown }[] = [];
  for (const f of files) {
    try {
      for (const doc of parseManifests(readFileSync(f, "utf8"), f)) out.push({ source: f, doc });
    } catch (e) {
      if (e instanceof ManifestError)
        throw new CliError(`${e.message}\n${e.issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`);
      throw e;
    }
  }
  return out;
}

function formatValue(v: unknown): string {
  if (v === undefined) return "(unset)";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

export function printChanges(changes: Change[]): void {
  for (const c of changes) {
    if (c.from === undefined) console.log(`  + ${c.path} = ${formatValue(c.to)}`);
    else if (c.to === undefined) console.log(`  - ${c.path} (was ${formatValue(c.from)})`);
    else console.log(`  ~ ${c.path}: ${formatValue(c.from)} → ${formatValue(c.to)}`);
  }
}

export async function apply(client: ApiClient, path: string, dryRun: boolean): Promise<number> {
  const docs = await readManifestFiles(path);
  let failed = 0;
  for (const { source, doc } of docs) {
    try {
      const r = await client.call<{ bot: Bot; action: string; revision: number; changes: Change[] }>(
        "POST",
        `/api/v1/bots/apply${dryRun ? "?dryRun=true" : ""}`,
        doc,
      );
      const verb = dryRun ? (r.action === "unchanged" ? "unchanged" : `would be ${r.action}`) : r.action;
      console.log(`bot/${r.bot.name} ${verb}${r.action !== "unchanged" ? ` (revision ${r.revision})` : ""}`);
      if (dryRun || r.changes.length <= 20) printChanges(r.changes);
    } catch (e) {
      failed++;
      console.error(`${source}: ${(e as Error).message}`);
      // a policy refusal: show each violation with its fix (merge patch)
      const policy = e instanceof CliError ? e.api?.policy : undefined;
      if (policy) printFindings(`bot/${nameOf(doc)}`, policy, (l) => console.error(l));
    }
  }
  return failed ? 1 : 0;
}

/** The first condition that is not in its good state (Unknown is not a failure: it is not observed yet). */
function firstFailing(b: Bot): BotCondition | undefined {
  return b.conditions?.find((c) => c.status !== "Unknown" && !isGood(c.type, c));
}

/** The conditions as a table: failing ones marked with "!", how long each has held, and what to do. */
function conditionLines(conditions: BotCondition[], now: number): string[] {
  if (!conditions.length) return ["  (none observed yet)"];
  const rows = conditions.map((c) => [
    c.status !== "Unknown" && !isGood(c.type, c) ? "!" : " ",
    c.type,
    c.status,
    c.reason,
    ago(c.since, now),
    c.message,
  ]);
  return tableLines([[" ", "TYPE", "STATUS", "REASON", "SINCE", "MESSAGE"], ...rows]).map((l) => `  ${l}`);
}

export async function getBots(client: ApiClient, output?: string): Promise<void> {
  const { items } = await client.call<{ items: Bot[] }>("GET", "/api/v1/bots");
  if (output === "json") return void console.log(JSON.stringify(items, null, 2));
  if (output === "yaml") return void console.log(toYaml(items));
  printTable(
    items.map((b) => ({
      ...b,
      revision: `${b.appliedRevision ?? "-"}/${b.desiredRevision}`,
      target: `${b.provider}@${b.host}:${b.port}`,
      // what is wrong now names its fix; the status reason otherwise
      statusReason: firstFailing(b)?.message ?? b.statusReason,
    })),
    ["name", "status", "revision", "target", "fleet", "statusReason"],
  );
}

export async function describeBot(client: ApiClient, name: string): Promise<void> {
  const d = await client.call<{
    bot: Bot & { drift: string; desiredState: string };
    manifest: unknown;
    revisions: { revision: number; source: string; actor: string; createdAt: number }[];
    events: { ts: number; level: string; message: string }[];
    health: Record<string, unknown> | null;
    job: { kind: string; state: string } | null;
    secrets?: BotSecret[];
  }>("GET", `/api/v1/bots/${encodeURIComponent(name)}`);
  const b = d.bot;
  console.log(
    `Name:         ${b.name}\nStatus:       ${b.status} — ${b.statusReason}\nDesired:      ${b.desiredState}, revision ${b.desiredRevision} (live: ${b.appliedRevision ?? "none"})\nTarget:       ${b.provider}@${b.host}, port ${b.port}\nDrift policy: ${b.drift}\nFleet/env:    ${b.fleet ?? "-"} / ${b.environment ?? "-"}`,
  );
  if (d.job) console.log(`Job:          ${d.job.kind} (${d.job.state})`);
  if (b.conditions) {
    console.log("\nConditions:");
    for (const l of conditionLines(b.conditions, Date.now())) console.log(l);
  }
  if (d.health)
    console.log(`Health:       ${d.health.ready ? "ready" : "not ready"} at ${new Date(d.health.ts as number).toISOString()}`);
  if (d.secrets?.length) {
    console.log("\nSecrets:");
    for (const l of botSecretLines(d.secrets)) console.log(l);
  }
  console.log("\nRevisions:");
  for (const r of d.revisions.slice(0, 10))
    console.log(`  ${r.revision}  ${new Date(r.createdAt).toISOString()}  ${r.source} by ${r.actor}`);
  console.log("\nEvents:");
  for (const e of d.events.slice(0, 15).reverse())
    console.log(`  ${new Date(e.ts).toISOString()}  ${e.level.padEnd(5)}  ${e.message}`);
}

export async function logs(client: ApiClient, name: string, follow: boolean, tail: number): Promise<void> {
  if (!follow) {
    process.stdout.write(await client.text(`/api/v1/bots/${encodeURIComponent(name)}/logs?tail=${tail}`));
    return;
  }
  for await (const ev of client.sse(`/api/v1/bots/${encodeURIComponent(name)}/logs?follow=true&tail=${tail}`)) {
    if (ev.event === "line") console.log(ev.data);
    else if (ev.event === "error") throw new CliError(ev.data);
  }
}

export async function exportAll(client: ApiClient): Promise<void> {
  const { items } = await client.call<{ items: unknown[] }>("GET", "/api/v1/bots/export");
  console.log(items.map((m) => toYaml(m)).join("---\n"));
}
