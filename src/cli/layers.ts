import { parseArgs } from "node:util";
import { stringify as toYaml } from "yaml";
import { getPath } from "../domain/manifest.ts";
import type { LayerChangeResult, LayerDetail, LayerSummary, ResolvedConfig } from "../services/layers.ts";
import { readManifestFiles } from "./bots.ts";
import type { ApiClient } from "./client.ts";
import { CliError, tableLines } from "./io.ts";

/**
 * `molthub profile …`, `molthub overlay …` and `molthub resolved bot NAME`.
 * argv[0] is the group; the dispatcher in main.ts passes the flags it parsed as `--name value`.
 */

export const USAGE = `Profiles and overlays (shared configuration layers; see docs/layers.md)
  profile list [-o json|yaml]            profiles, their priority, locks and the bots that use them
  profile get NAME [-o json|yaml]        one profile's document and the bots it reaches
  profile apply -f FILE|DIR|- [--dry-run] [--yes]
                                         create or update; prints the blast radius (bots, paths from → to)
                                         and asks before saving unless --yes
  profile delete NAME [--yes]            refused while bots list it
  profile attach NAME --bot BOT          add the profile to a bot (a new revision of the bot)
  profile detach NAME --bot BOT
  overlay list|get|apply|delete …        the same for overlays (selector, time window)
  overlay enable|disable NAME [--yes]
  resolved bot NAME [-o json]            every resolved path, its value and the layer that set it`;

export interface LayersIo {
  out: (line: string) => void;
  err: (line: string) => void;
  /** asks a yes/no question; only called without --yes */
  confirm: (question: string) => Promise<boolean>;
  /** documents from a file, a directory or "-" (stdin) */
  readDocs: (path: string) => Promise<unknown[]>;
}

const defaultIo: LayersIo = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  confirm: askTty,
  readDocs: async (path) => (await readManifestFiles(path)).map((d) => d.doc),
};

async function askTty(question: string): Promise<boolean> {
  if (!process.stdin.isTTY)
    throw new CliError(`${question}\nno terminal to ask on; pass --yes to confirm (or --dry-run to only look)`, 2);
  process.stderr.write(`${question} [y/N] `);
  process.stdin.resume();
  const line = await new Promise<string>((resolve) => {
    let buf = "";
    const onData = (d: Buffer) => {
      buf += d.toString("utf8");
      const i = buf.indexOf("\n");
      if (i >= 0) {
        process.stdin.off("data", onData);
        process.stdin.pause();
        resolve(buf.slice(0, i));
      }
    };
    process.stdin.on("data", onData);
  });
  return /^y(es)?$/i.test(line.trim());
}

function show(v: unknown): string {
  if (v === undefined) return "(unset)";
  const s = JSON.stringify(v);
  return s.length > 80 ? `${s.slice(0, 77)}...` : s;
}

function changeLine(c: { path: string; from: unknown; to: unknown }): string {
  if (c.from === undefined) return `+ ${c.path} = ${show(c.to)}`;
  if (c.to === undefined) return `- ${c.path} (was ${show(c.from)})`;
  return `~ ${c.path}: ${show(c.from)} → ${show(c.to)}`;
}

/** The blast radius of a layer change, as lines. */
export function formatBlast(r: LayerChangeResult): string[] {
  const verb = r.dryRun ? (r.action === "unchanged" ? "unchanged" : `would be ${r.action}`) : r.action;
  const lines = [
    `${r.kind}/${r.name} ${verb}${r.action === "unchanged" ? "" : ` (version ${r.version})`}${r.dryRun ? " — dry run, nothing stored" : ""}`,
  ];
  if (r.action === "unchanged") return lines;
  if (r.bots.length === 0) lines.push("no bot changes");
  else lines.push(`${r.bots.length} bot${r.bots.length === 1 ? " changes" : "s change"}:`);
  for (const b of r.bots) {
    lines.push(`  ${b.bot}: revision ${b.revision}`);
    for (const c of b.changes) lines.push(`    ${changeLine(c)}`);
  }
  if (r.unchanged.length) lines.push(`unchanged: ${r.unchanged.join(", ")}`);
  return lines;
}

/** Every resolved path with its value, the layer that set it and what it overrode. */
export function formatResolved(r: ResolvedConfig): string[] {
  const lines = [
    `bot/${r.bot} (desired revision ${r.revision}); layers in order: ${r.layers.map((l) => `${l.kind} ${l.name}${l.kind === "profile" || l.kind === "overlay" ? ` (priority ${l.priority})` : ""}`).join(" → ")}`,
  ];
  if (!r.stored.upToDate)
    lines.push(
      "note: the layers resolve differently now than when the desired revision was stored; the next change to the bot or a layer rolls it out",
    );
  for (const p of r.problems) lines.push(`problem: ${p.path}: ${p.message}`);
  for (const c of r.conflicts) lines.push(`conflict: ${c.path}: ${c.message}`);
  const paths = Object.keys(r.provenance).sort();
  if (!paths.length) return [...lines, "(no values: the generated config has only what Molthub manages)"];
  const rows = [["PATH", "VALUE", "SET BY", "OVERRODE"]];
  for (const p of paths) {
    const e = r.provenance[p]!;
    const overrode = (e.overrode ?? []).map((o) => `${o.layer.kind} ${o.layer.name}: ${show(o.value)}`).join("; ");
    rows.push([p, show(getPath(r.value, p)), `${e.layer.kind} ${e.layer.name}`, overrode ? `overrode ${overrode}` : ""]);
  }
  return [...lines, ...tableLines(rows)];
}

function summaryRows(items: LayerSummary[], kind: "profile" | "overlay"): string[] {
  const head =
    kind === "profile"
      ? ["NAME", "PRIORITY", "VERSION", "LOCKED", "BOTS"]
      : ["NAME", "PRIORITY", "VERSION", "STATE", "SELECTOR", "BOTS"];
  const rows = items.map((i) => {
    const bots = i.bots.join(",") || "-";
    if (kind === "profile") return [i.name, String(i.priority), String(i.version), i.locked.join(",") || "-", bots];
    const state = !i.enabled ? "disabled" : i.active ? "active" : "outside window";
    return [i.name, String(i.priority), String(i.version), state, i.selector ? JSON.stringify(i.selector) : "all bots", bots];
  });
  return tableLines([head, ...rows]);
}

const enc = encodeURIComponent;

export async function run(client: ApiClient, argv: string[], io: LayersIo = defaultIo): Promise<number> {
  const group = argv[0];
  if (group !== "profile" && group !== "overlay" && group !== "resolved")
    throw new CliError(`unknown command: ${argv.join(" ")}\n${USAGE}`, 2);
  const { values, positionals } = parseArgs({
    args: argv.slice(1),
    allowPositionals: true,
    strict: false,
    options: {
      file: { type: "string", short: "f" },
      output: { type: "string", short: "o" },
      yes: { type: "boolean", short: "y" },
      "dry-run": { type: "boolean" },
      bot: { type: "string" },
    },
  });
  const [verb, name] = positionals as string[];
  const output = typeof values.output === "string" ? values.output : undefined;
  const dump = (v: unknown) => io.out(output === "yaml" ? toYaml(v, { lineWidth: 0 }).trimEnd() : JSON.stringify(v, null, 2));

  if (group === "resolved") {
    if (verb !== "bot" || !name) throw new CliError("usage: molthub resolved bot NAME [-o json]", 2);
    const r = await client.call<ResolvedConfig>("GET", `/api/v1/bots/${enc(name)}/resolved`);
    if (output) dump(r);
    else for (const l of formatResolved(r)) io.out(l);
    return 0;
  }

  const kind = group;
  const plural = `${kind}s`;
  const need = (what: string) => {
    if (!name) throw new CliError(`usage: molthub ${kind} ${verb} NAME${what}`, 2);
    return name;
  };
  const yes = values.yes === true;
  const dryRun = values["dry-run"] === true;

  /** Preview, print, confirm, then do it for real. */
  const confirmed = async (
    question: (r: LayerChangeResult) => string,
    call: (dry: boolean) => Promise<LayerChangeResult>,
  ): Promise<number> => {
    const preview = await call(true);
    for (const l of formatBlast(preview)) io.out(l);
    if (dryRun || preview.action === "unchanged") return 0;
    if (!yes && !(await io.confirm(question(preview)))) {
      io.err("not saved");
      return 1;
    }
    const done = await call(false);
    io.out(
      `${done.kind}/${done.name} ${done.action} (version ${done.version})${done.bots.length ? `; new revisions for ${done.bots.map((b) => `${b.bot} (r${b.revision})`).join(", ")}` : ""}`,
    );
    return 0;
  };
  const rollout = (r: LayerChangeResult) =>
    r.bots.length ? ` and roll it out to ${r.bots.length} bot${r.bots.length === 1 ? "" : "s"}` : "";

  switch (verb) {
    case "list": {
      const { items } = await client.call<{ items: LayerSummary[] }>("GET", `/api/v1/${plural}`);
      if (output) dump(items);
      else if (!items.length) io.out(`no ${plural} yet; create one with \`molthub ${kind} apply -f FILE\``);
      else for (const l of summaryRows(items, kind)) io.out(l);
      return 0;
    }
    case "get": {
      const d = await client.call<LayerDetail>("GET", `/api/v1/${plural}/${enc(need(""))}`);
      if (output === "json") {
        dump(d);
        return 0;
      }
      io.out(toYaml(d.document, { lineWidth: 0 }).trimEnd());
      io.out(`# version ${d.version}, updated ${new Date(d.updatedAt).toISOString()}`);
      io.out(
        `# ${kind === "profile" ? "used by" : d.active ? "applies now to" : "would apply to"}: ${(kind === "profile" ? d.bots : d.matched).join(", ") || "no bots"}`,
      );
      return 0;
    }
    case "apply": {
      if (typeof values.file !== "string")
        throw new CliError(`usage: molthub ${kind} apply -f FILE|DIR|- [--dry-run] [--yes]`, 2);
      const docs = await io.readDocs(values.file);
      if (!docs.length) throw new CliError(`${values.file} holds no document`);
      let failed = 0;
      for (const doc of docs) {
        const docName = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
        if (typeof docName !== "string" || !docName) throw new CliError(`a document in ${values.file} has no metadata.name`);
        const code = await confirmed(
          (r) => `Save ${kind} ${docName}${rollout(r)}?`,
          (dry) => client.call<LayerChangeResult>("PUT", `/api/v1/${plural}/${enc(docName)}${dry ? "?dryRun=true" : ""}`, doc),
        );
        if (code) failed++;
      }
      return failed ? 1 : 0;
    }
    case "delete": {
      const n = need(" [--yes]");
      return confirmed(
        (r) => `Delete ${kind} ${n}${rollout(r)}?`,
        (dry) => client.call<LayerChangeResult>("DELETE", `/api/v1/${plural}/${enc(n)}${dry ? "?dryRun=true" : ""}`),
      );
    }
    case "enable":
    case "disable": {
      if (kind !== "overlay")
        throw new CliError(
          `only overlays are enabled or disabled; remove the profile from a bot with \`molthub profile detach NAME --bot BOT\``,
          2,
        );
      const n = need(" [--yes]");
      return confirmed(
        (r) => `${verb === "enable" ? "Enable" : "Disable"} overlay ${n}${rollout(r)}?`,
        (dry) => client.call<LayerChangeResult>("POST", `/api/v1/overlays/${enc(n)}/${verb}${dry ? "?dryRun=true" : ""}`),
      );
    }
    case "attach":
    case "detach": {
      if (kind !== "profile")
        throw new CliError("overlays choose their bots with spec.selector; edit it and apply the overlay again", 2);
      const n = need(" --bot BOT");
      if (typeof values.bot !== "string" || !values.bot) throw new CliError(`usage: molthub profile ${verb} NAME --bot BOT`, 2);
      const path =
        verb === "attach" ? `/api/v1/bots/${enc(values.bot)}/profiles` : `/api/v1/bots/${enc(values.bot)}/profiles/${enc(n)}`;
      const q = dryRun ? "?dryRun=true" : "";
      const r = await client.call<{
        bot: { name: string };
        action: string;
        revision: number;
        changes: { path: string; from: unknown; to: unknown }[];
      }>(verb === "attach" ? "POST" : "DELETE", path + q, verb === "attach" ? { profile: n } : undefined);
      io.out(
        `bot/${r.bot.name} ${dryRun ? `would be ${r.action}` : r.action}${r.action === "unchanged" ? "" : ` (revision ${r.revision})`}`,
      );
      for (const c of r.changes) io.out(`  ${changeLine(c)}`);
      return 0;
    }
    default:
      throw new CliError(`unknown command: molthub ${argv.join(" ")}\n${USAGE}`, 2);
  }
}
