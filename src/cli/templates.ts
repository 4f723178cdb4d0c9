import { readFileSync } from "node:fs";
import { stringify as toYaml } from "yaml";
import { parseTemplates, TemplateError } from "../domain/templates/schema.ts";
import { printChanges } from "./bots.ts";
import type { ApiClient } from "./client.ts";
import { CliError, printTable } from "./io.ts";

export const USAGE = `  template list               built-in and user templates
  template get NAME [-o yaml|json]   a template's inputs and values (-o: its definition)
  template apply -f FILE|- [--dry-run]   create or update user templates; shows the bots it changes
  template delete NAME        delete a user template (refused while bots use it)
  template use TEMPLATE --name BOT [--input k=v …] [--dry-run]   create a bot from a template
      --input target.provider=docker  --input target.image=…  --input target.version=…
      --input metadata.fleet=…  --input metadata.environment=…  --input metadata.labels.KEY=…`;

interface Input {
  name: string;
  label: string;
  type: string;
  required: boolean;
  default?: unknown;
  options?: string[];
  description?: string;
}
interface Summary {
  name: string;
  title: string;
  description: string;
  builtin: boolean;
  version: number;
  inputs: Input[];
  secretEnvs: string[];
  usedBy: string[];
}
interface Blast {
  bot: string;
  action: string;
  revision: number;
  changes: { path: string; from: unknown; to: unknown }[];
  error?: { message: string };
}

function flags(argv: string[]): { positionals: string[]; values: Record<string, string>; inputs: string[]; bools: Set<string> } {
  const positionals: string[] = [];
  const values: Record<string, string> = {};
  const inputs: string[] = [];
  const bools = new Set<string>();
  const BOOLS = new Set(["dry-run", "yes", "purge", "help"]);
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (!a.startsWith("--")) {
      positionals.push(a);
      continue;
    }
    const k = a.slice(2);
    if (BOOLS.has(k)) {
      bools.add(k);
      continue;
    }
    const v = argv[++i];
    if (v === undefined) throw new CliError(`--${k} needs a value`, 2);
    if (k === "input") inputs.push(v);
    else values[k] = v;
  }
  return { positionals, values, inputs, bools };
}

async function readText(file: string): Promise<string> {
  if (file === "-") return new Response(Bun.stdin.stream()).text();
  try {
    return readFileSync(file, "utf8");
  } catch {
    throw new CliError(`cannot read ${file}: no such file`);
  }
}

function show(v: unknown): string {
  return v === undefined ? "" : JSON.stringify(v);
}

function printBlast(blast: Blast[], dryRun: boolean): void {
  if (!blast.length) return void console.log("  no bots use it");
  for (const b of blast) {
    if (b.action === "failed") console.log(`  bot/${b.bot} would FAIL: ${b.error?.message ?? "unknown error"}`);
    else if (b.action === "unchanged") console.log(`  bot/${b.bot} unchanged`);
    else {
      console.log(`  bot/${b.bot} ${dryRun ? "would get" : "gets"} revision ${b.revision}`);
      printChanges(b.changes);
    }
  }
}

/** `--input k=v` pairs split into template inputs, the target and metadata. */
export function splitInputs(pairs: string[]): {
  inputs: Record<string, string>;
  target: Record<string, string | number>;
  fleet?: string;
  environment?: string;
  labels: Record<string, string>;
} {
  const inputs: Record<string, string> = {};
  const target: Record<string, string | number> = {};
  const labels: Record<string, string> = {};
  let fleet: string | undefined;
  let environment: string | undefined;
  for (const p of pairs) {
    const eq = p.indexOf("=");
    if (eq <= 0) throw new CliError(`--input ${p.slice(0, 40)}: expected key=value`, 2);
    const k = p.slice(0, eq);
    const v = p.slice(eq + 1);
    if (k.startsWith("target.")) {
      const f = k.slice(7);
      target[f] = f === "cpus" && /^\d+(\.\d+)?$/.test(v) ? Number(v) : v;
    } else if (k === "metadata.fleet") fleet = v;
    else if (k === "metadata.environment") environment = v;
    else if (k.startsWith("metadata.labels.")) labels[k.slice(16)] = v;
    else if (k.includes("."))
      throw new CliError(
        `--input ${k}: only target.*, metadata.fleet, metadata.environment and metadata.labels.* have dots; template inputs are plain names`,
        2,
      );
    else inputs[k] = v;
  }
  return { inputs, target, fleet, environment, labels };
}

/** `molthub template …` */
export async function run(client: ApiClient, argv: string[]): Promise<number> {
  const { positionals, values, inputs, bools } = flags(argv.slice(1));
  const [sub, name] = positionals;
  const enc = (s: string) => encodeURIComponent(s);
  switch (sub) {
    case "list":
    case undefined: {
      const { items } = await client.call<{ items: Summary[] }>("GET", "/api/v1/templates");
      if (values.output === "json") {
        console.log(JSON.stringify(items, null, 2));
        return 0;
      }
      if (values.output === "yaml") {
        console.log(toYaml(items));
        return 0;
      }
      printTable(
        items.map((t) => ({
          name: t.name,
          kind: t.builtin ? "built-in" : `user v${t.version}`,
          title: t.title,
          required:
            t.inputs
              .filter((i) => i.required)
              .map((i) => i.name)
              .join(",") || "-",
          bots: t.usedBy.length,
        })),
        ["name", "kind", "title", "required", "bots"],
      );
      return 0;
    }
    case "get": {
      if (!name) throw new CliError("usage: molthub template get NAME [-o yaml|json]", 2);
      const t = await client.call<Summary & { template: unknown }>("GET", `/api/v1/templates/${enc(name)}`);
      if (values.output === "json") {
        console.log(JSON.stringify(t.template, null, 2));
        return 0;
      }
      if (values.output === "yaml") {
        process.stdout.write(toYaml(t.template));
        return 0;
      }
      console.log(
        `Name:        ${t.name} (${t.builtin ? "built-in" : `user template, version ${t.version}`})\nTitle:       ${t.title}\nDescription: ${t.description}`,
      );
      console.log(
        `Secrets:     ${t.secretEnvs.join(", ") || "none"}\nUsed by:     ${t.usedBy.join(", ") || "no bots"}\n\nInputs:`,
      );
      for (const i of t.inputs) {
        const extra = [
          i.required ? "required" : "optional",
          i.default !== undefined ? `default ${show(i.default)}` : "",
          i.options ? `one of ${i.options.join("|")}` : "",
        ]
          .filter(Boolean)
          .join(", ");
        console.log(`  ${i.name} (${i.type}; ${extra}) — ${i.label}${i.description ? `: ${i.description}` : ""}`);
      }
      return 0;
    }
    case "apply": {
      if (!values.file) throw new CliError("usage: molthub template apply -f FILE|- [--dry-run]", 2);
      let docs: unknown[];
      try {
        docs = parseTemplates(await readText(values.file), values.file);
      } catch (e) {
        if (e instanceof TemplateError)
          throw new CliError(`${e.message}\n${e.issues.map((i) => `  ${i.path}: ${i.message}`).join("\n")}`);
        throw e;
      }
      if (!docs.length) throw new CliError(`${values.file} holds no template`);
      const dryRun = bools.has("dry-run");
      let failed = 0;
      for (const doc of docs) {
        const n = (doc as { metadata?: { name?: unknown } })?.metadata?.name;
        if (typeof n !== "string") {
          failed++;
          console.error(`${values.file}: a template without metadata.name`);
          continue;
        }
        try {
          const r = await client.call<{ action: string; version: number; blast: Blast[] }>(
            "PUT",
            `/api/v1/templates/${enc(n)}${dryRun ? "?dryRun=true" : ""}`,
            doc,
          );
          console.log(
            `template/${n} ${dryRun && r.action !== "unchanged" ? `would be ${r.action}` : r.action} (version ${r.version})`,
          );
          if (r.action === "updated") printBlast(r.blast, dryRun);
        } catch (e) {
          failed++;
          console.error(`template/${n}: ${(e as Error).message}`);
        }
      }
      return failed ? 1 : 0;
    }
    case "delete": {
      if (!name) throw new CliError("usage: molthub template delete NAME", 2);
      await client.call("DELETE", `/api/v1/templates/${enc(name)}`);
      console.log(`template/${name} deleted`);
      return 0;
    }
    case "use": {
      const bot = values.name;
      if (!name || !bot) throw new CliError("usage: molthub template use TEMPLATE --name BOT [--input k=v …] [--dry-run]", 2);
      const s = splitInputs(inputs);
      const dryRun = bools.has("dry-run");
      const body: Record<string, unknown> = { name: bot, inputs: s.inputs, dryRun };
      if (Object.keys(s.target).length) body.target = s.target;
      if (s.fleet) body.fleet = s.fleet;
      if (s.environment) body.environment = s.environment;
      if (Object.keys(s.labels).length) body.labels = s.labels;
      const r = await client.call<{
        bot: { name: string };
        action: string;
        revision: number;
        changes: { path: string; from: unknown; to: unknown }[];
      }>("POST", `/api/v1/templates/${enc(name)}/bots`, body);
      console.log(`bot/${r.bot.name} ${dryRun ? "would be created" : "created"} from template ${name} (revision ${r.revision})`);
      if (dryRun) printChanges(r.changes);
      return 0;
    }
    default:
      throw new CliError(`unknown command: template ${sub}\n${USAGE}`, 2);
  }
}
