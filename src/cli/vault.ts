import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../db/client.ts";
import { decodeKey, keySource } from "../secrets/keyring.ts";
import { rotateMasterKey } from "../secrets/vault.ts";
import type { ApiClient } from "./client.ts";
import { CliError, confirm, printTable, readSecret } from "./io.ts";
import { chooseMode } from "./mode.ts";

const USAGE = `Vault (secrets; values are write-only)
  vault list [-o json]                 names, versions, descriptions, updated, used-by
  vault get NAME [-o json]             one secret's metadata (never its value)
  vault set NAME [--description D] [--dry-run] [--yes]
                                       store or replace a value: read from stdin when piped, else prompted
                                       (never from the command line; one line — line breaks are refused).
                                       Replacing one shows the bots that restart with it first; asks to
                                       confirm on a terminal, needs --yes when the value comes on stdin.
                                       --dry-run: only show them (no value needed)
  vault rollouts NAME [-o json]        per-bot delivery of the secret's new versions
  vault delete NAME                    refused while a bot or connector uses it
  vault rotate-key [--data-dir DIR]    offline, with the server stopped: new master key, every data key
                                       re-wrapped (env/command key sources: the new key on stdin)
  secret set NAME                      the same as vault set`;

interface SecretItem {
  name: string;
  version: number;
  description: string;
  updatedAt: number;
  updatedBy: string | null;
  usedBy: { bots: string[]; connectors: string[] };
}

interface SecretChange extends SecretItem {
  dryRun: boolean;
  rollout: { bot: string; env: string[]; bound: boolean; method: "restart" | "next start" }[];
}

/**
 * The whole of stdin when piped (one trailing newline dropped, as `echo` adds one); a prompt otherwise. A line break
 * inside the value is refused by the server: a secret reaches its bot as one line of an env file.
 */
async function readValue(prompt: string): Promise<string> {
  if (process.stdin.isTTY) return readSecret(prompt);
  const text = await new Response(Bun.stdin.stream()).text();
  const v = text.replace(/\r?\n$/, "");
  if (!v)
    throw new CliError("expected the secret value on standard input (e.g. `printf '%s' \"$VALUE\" | molthub vault set NAME`)");
  return v;
}

function flag(argv: string[], name: string): string | undefined {
  const i = argv.indexOf(`--${name}`);
  return i >= 0 ? argv[i + 1] : undefined;
}

function row(s: SecretItem) {
  const used = [...s.usedBy.bots.map((b) => `bot/${b}`), ...s.usedBy.connectors.map((c) => `connector/${c}`)];
  return {
    name: s.name,
    version: s.version,
    updated: new Date(s.updatedAt).toISOString(),
    by: s.updatedBy,
    "used-by": used.join(",") || null,
    description: s.description || null,
  };
}

/** One secret of a bot as `GET /api/v1/bots/{name}` describes it. */
export interface BotSecret {
  secret: string;
  env: string[];
  current: number | null;
  running: number | null;
  outdated: boolean;
  message: string | null;
  rollout: { version: number; state: string; message: string } | null;
}

/**
 * The secrets section of `molthub describe bot`: each secret with the version the gateway runs, and
 * "secret outdated: NAME (running vN, current vM)" with the rollout's state until a restart delivers it.
 */
export function botSecretLines(secrets: BotSecret[]): string[] {
  return secrets.map((s) => {
    const env = s.env.join(", ");
    if (s.outdated) {
      const r = s.rollout && s.rollout.state !== "delivered" ? ` — ${s.rollout.state}: ${s.rollout.message}` : "";
      return `  ${s.message} as ${env}${r}`;
    }
    if (s.current === null) return `  ${s.secret} as ${env}: missing from the vault`;
    // running null: nothing runs, or a gateway started before versions were recorded
    return s.running !== null
      ? `  ${s.secret} v${s.running} as ${env} (current)`
      : `  ${s.secret} as ${env} (vault: v${s.current})`;
  });
}

/** The blast radius of a write: which bots take the new version, through which env vars, and how. */
function printRollout(r: SecretChange): void {
  const restarts = r.rollout.filter((p) => p.method === "restart").length;
  if (!r.rollout.length) {
    if (r.dryRun) console.log(`would store ${r.name} version ${r.version}; no bot uses it`);
    return;
  }
  console.log(
    `${r.dryRun ? `storing ${r.name} version ${r.version} would reach` : "rolling it out to"} ${r.rollout.length} bot${r.rollout.length > 1 ? "s" : ""}${restarts ? ` (${restarts} restart${restarts > 1 ? "s" : ""} with the new value)` : ""}:`,
  );
  printTable(
    r.rollout.map((p) => ({ bot: p.bot, env: p.env.join(","), via: p.bound ? "connector" : "manifest", method: p.method })),
    ["bot", "env", "via", "method"],
  );
}

/**
 * `molthub vault set` (and `molthub secret set`): the blast radius first (a dry run), then the value. Replacing a
 * secret that running bots use restarts them, so that needs a yes — typed on a terminal, or `--yes` when the value
 * comes on stdin (there is nobody to ask then).
 */
export async function setSecret(
  client: ApiClient,
  name: string,
  opts: { description?: string; dryRun?: boolean; yes?: boolean } = {},
): Promise<number> {
  const path = `/api/v1/secrets/${encodeURIComponent(name)}`;
  const desc = opts.description !== undefined ? { description: opts.description } : {};
  const preview = await client.call<SecretChange>("PUT", `${path}?dryRun=true`, desc);
  if (opts.dryRun) {
    printRollout(preview);
    return 0;
  }
  if (!opts.yes && preview.rollout.some((p) => p.method === "restart")) {
    printRollout(preview);
    if (!process.stdin.isTTY)
      throw new CliError("add --yes to replace it (the value comes on stdin, so there is no prompt to confirm the restarts)", 2);
    if (!(await confirm("Replace it now? [y/N] "))) {
      console.log("not stored");
      return 1;
    }
  }
  const value = await readValue(`value for secret ${name}: `);
  const s = await client.call<SecretChange>("PUT", path, { value, ...desc });
  console.log(`secret ${s.name} stored (version ${s.version})`);
  printRollout(s);
  if (s.rollout.some((p) => p.method === "restart")) console.log(`follow it with: molthub vault rollouts ${s.name}`);
  return 0;
}

/** `molthub vault …` client commands (argv[0] = "vault"); rotate-key is offline and handled by `main`. */
async function run(client: ApiClient, argv: string[]): Promise<number> {
  const [, sub, name] = argv;
  const output = flag(argv, "output") ?? flag(argv, "o");
  const path = (n: string) => `/api/v1/secrets/${encodeURIComponent(n)}`;
  switch (sub) {
    case "list": {
      const r = await client.call<{ items: SecretItem[] }>("GET", "/api/v1/secrets");
      if (output === "json") console.log(JSON.stringify(r.items, null, 2));
      else printTable(r.items.map(row), ["name", "version", "updated", "by", "used-by", "description"]);
      return 0;
    }
    case "get": {
      if (!name) throw new CliError("usage: molthub vault get NAME", 2);
      const s = await client.call<SecretItem>("GET", path(name));
      if (output === "json") console.log(JSON.stringify(s, null, 2));
      else printTable([row(s)], ["name", "version", "updated", "by", "used-by", "description"]);
      return 0;
    }
    case "set":
      if (!name || name.startsWith("-"))
        throw new CliError("usage: molthub vault set NAME [--description D] [--dry-run] [--yes] (value on stdin or prompt)", 2);
      return setSecret(client, name, {
        description: flag(argv, "description"),
        dryRun: argv.includes("--dry-run"),
        yes: argv.includes("--yes"),
      });
    case "rollouts": {
      if (!name) throw new CliError("usage: molthub vault rollouts NAME", 2);
      const r = await client.call<{
        items: { bot: string; version: number; state: string; method: string | null; message: string }[];
      }>("GET", `${path(name)}/rollouts`);
      if (output === "json") console.log(JSON.stringify(r.items, null, 2));
      else if (!r.items.length) console.log(`no rollout of ${name} yet: no new version reached a bot that uses it`);
      else
        printTable(
          r.items.map((i) => ({ bot: i.bot, version: `v${i.version}`, state: i.state, method: i.method, message: i.message })),
          ["bot", "version", "state", "method", "message"],
        );
      return 0;
    }
    case "delete": {
      if (!name) throw new CliError("usage: molthub vault delete NAME", 2);
      await client.call("DELETE", path(name));
      console.log(`secret ${name} deleted`);
      return 0;
    }
    default:
      throw new CliError(`unknown command: molthub vault ${sub ?? ""}\n${USAGE}`, 2);
  }
}

/**
 * `molthub vault rotate-key`: offline rotation against the data dir (the server must be stopped).
 * Prints the key ids and counts only — never a key.
 */
async function rotateKey(opts: { dataDir: string; command?: string; env?: Record<string, string | undefined> }): Promise<number> {
  const env = opts.env ?? process.env;
  const file = join(opts.dataDir, "molthub.db");
  if (!existsSync(file)) throw new CliError(`no store at ${file}; pass --data-dir`);
  const src = keySource(opts.dataDir, env, { command: opts.command });
  let newKey: Buffer | undefined;
  if (src.kind !== "file") {
    newKey = decodeKey(await readSecret("new master key (base64 of 32 bytes): "), "standard input");
  }
  const store = openStore(file);
  try {
    const r = rotateMasterKey({ db: store.db, dataDir: opts.dataDir, env, command: opts.command, newKey });
    const values = Object.entries(r.values)
      .map(([k, n]) => `${k} ${n}`)
      .join(", ");
    console.log(`master key rotated: ${r.from} → ${r.to}`);
    console.log(
      `  ${r.secrets} data key(s) re-wrapped; re-sealed: ${values || "nothing else"}; ${r.checkpoints} audit checkpoint(s) re-signed`,
    );
    if (r.source === "file") {
      console.log(
        `  ${join(opts.dataDir, "master.key")} holds the new key; the old one stays in master.key.previous until the next successful start.`,
      );
      console.log("  Back up the new master.key now (separately from the database backups).");
    } else {
      console.log(`  Now make ${src.label} return the new key, then start Molthub. The old key no longer opens this store.`);
    }
    return 0;
  } finally {
    store.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
    store.close();
  }
}

/** The flags of `molthub vault …`; a wrong one is a usage error. */
function parseFlags(argv: string[]) {
  try {
    return parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        "data-dir": { type: "string" },
        config: { type: "string" },
        server: { type: "string" },
        token: { type: "string" },
        output: { type: "string", short: "o" },
        description: { type: "string" },
        "dry-run": { type: "boolean" },
        yes: { type: "boolean", short: "y" },
        help: { type: "boolean", short: "h" },
      },
    });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\n${USAGE}`, 2);
  }
}

/** Entry from src/main.ts: parses its own flags (including --description and --data-dir). */
export async function main(
  argv: string[],
  ctx: {
    makeClient: (v: { server?: string; token?: string }) => ApiClient;
    settings: (v: Record<string, unknown>) => { dataDir: string; masterKeyCommand?: string };
  },
): Promise<number> {
  const { values, positionals } = parseFlags(argv);
  if (values.help || !positionals.length) {
    console.log(USAGE);
    return 0;
  }
  if (positionals[0] === "rotate-key") {
    chooseMode("vault rotate-key", ["offline"], values);
    const s = ctx.settings(values);
    return rotateKey({ dataDir: s.dataDir, command: s.masterKeyCommand });
  }
  chooseMode(`vault ${positionals[0]}`, ["server"], values);
  const client = ctx.makeClient({ server: values.server, token: values.token });
  const rest: string[] = [];
  if (values.output) rest.push("--output", values.output);
  if (values.description !== undefined) rest.push("--description", values.description);
  if (values["dry-run"]) rest.push("--dry-run");
  if (values.yes) rest.push("--yes");
  return run(client, ["vault", ...positionals, ...rest]);
}
