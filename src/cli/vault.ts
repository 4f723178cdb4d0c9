import { existsSync } from "node:fs";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { openStore } from "../db/client.ts";
import { decodeKey, keySource } from "../secrets/keyring.ts";
import { rotateMasterKey } from "../secrets/vault.ts";
import type { ApiClient } from "./client.ts";
import { CliError, printTable, readSecret } from "./io.ts";

const USAGE = `Vault (secrets; values are write-only)
  vault list [-o json]                 names, versions, descriptions, updated, used-by
  vault get NAME [-o json]             one secret's metadata (never its value)
  vault set NAME [--description D]     store or replace a value: read from stdin when piped, else prompted
                                       (never from the command line)
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

/** The whole of stdin when piped (one trailing newline dropped, so multi-line values work); a prompt otherwise. */
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
    case "set": {
      if (!name || name.startsWith("-"))
        throw new CliError("usage: molthub vault set NAME [--description D] (value on stdin or prompt)", 2);
      const value = await readValue(`value for secret ${name}: `);
      const description = flag(argv, "description");
      const s = await client.call<SecretItem>("PUT", path(name), {
        value,
        ...(description !== undefined ? { description } : {}),
      });
      const bots = s.usedBy.bots.length;
      console.log(
        `secret ${s.name} stored (version ${s.version})${s.version > 1 && bots ? `; ${bots} bot${bots > 1 ? "s get" : " gets"} it on the next reconcile` : ""}`,
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
    const s = ctx.settings(values);
    return rotateKey({ dataDir: s.dataDir, command: s.masterKeyCommand });
  }
  const client = ctx.makeClient({ server: values.server, token: values.token });
  const rest: string[] = [];
  if (values.output) rest.push("--output", values.output);
  if (values.description !== undefined) rest.push("--description", values.description);
  return run(client, ["vault", ...positionals, ...rest]);
}
