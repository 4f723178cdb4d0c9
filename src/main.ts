#!/usr/bin/env bun
import { existsSync } from "node:fs";
import { join } from "node:path";
import { type ParseArgsOptionsConfig, parseArgs } from "node:util";
import { PROVIDER_MODULES } from "../providers/registry.ts";
import { apply, logs as botLogs, describeBot, exportAll, getBots } from "./cli/bots.ts";
import { ApiClient } from "./cli/client.ts";
import { doctor } from "./cli/doctor.ts";
import { CliError, printTable, readSecret } from "./cli/io.ts";
import { chooseMode } from "./cli/mode.ts";
import { defaults, resolveSettings, SettingsError } from "./config.ts";
import { verifyAudit } from "./core/audit.ts";
import { ROLES, type Role } from "./core/context.ts";
import { ServiceError } from "./core/errors.ts";
import { migrate, migrationStatus, openStore } from "./db/client.ts";
import { BOT_ACTIONS } from "./domain/bot-actions.ts";
import { KeyError, loadKeyring } from "./secrets/keyring.ts";
import { prepareDataDir, StartupError, serve } from "./server/serve.ts";
import { addUserOffline, setPasswordOffline } from "./services/auth.ts";
import { VERSION } from "./version.ts";

const USAGE = `molthub ${VERSION} — control plane for OpenClaw gateways

Usage: molthub <command> [flags]

Server
  serve                      start the appliance (UI + API)
      --data-dir DIR  --host H  --port P  --config FILE  --public-url URL
      --tls-cert FILE --tls-key FILE  --trust-proxy  --log-level debug|info|warn|error
  migrate [--status]         apply pending migrations (a copy is taken first) or list them
  doctor                     check data dir, master key, database, audit chain and port
  version

Offline (against --data-dir, no server needed)
  user add --email E [--name N] [--role owner|admin|operator|viewer] [--workspace SLUG] [--password-stdin]
  user passwd --email E [--password-stdin]
  audit verify               verify the audit hash chain (or a server's with --server/--token; without either
                             flag, MOLTHUB_TOKEN in the environment means the server; --data-dir always wins)

Client (against a running server: --server URL --token T, or MOLTHUB_URL / MOLTHUB_TOKEN)
  token create --name N [--role R] [--expires-days D]   (without a token: --email E, password on stdin or prompt)
  apply -f FILE|DIR|-        create or update bots from manifests (YAML or JSON)
  diff -f FILE|DIR|-         show what apply would change
  get bots [-o json|yaml]    list bots with their live status
  describe bot NAME          status, conditions, revisions and the events timeline
  logs bot NAME [-f] [--tail N]
  start|stop|restart|pause|resume bot NAME
  delete bot NAME [--purge]  remove a bot (with --purge its data too)
  export                     every bot's manifest as YAML
  policy list|get ID         policy packs: mode, scope, rules, bots violating them
  policy apply -f PACK.yaml [--dry-run]   create or replace a custom pack (YAML or JSON)
  policy enable ID [enforce|advisory] | policy disable ID | policy delete ID
  policy check -f MANIFEST   dry run: violations and their fixes; exit 1 when an apply would be blocked
  policy except --rule R [--bot B] --reason "…" --expires YYYY-MM-DD   waive a rule until a date
  policy exceptions | policy revoke ID
  host add NAME --address A --user U [--ssh-port P] [--key-file F] [--fingerprint SHA256:…|--yes]
                             register an SSH host: prints the public key for authorized_keys and the
                             host key fingerprint to confirm before it is pinned
  host trust NAME --fingerprint SHA256:…   pin (or re-trust after a key change) a confirmed fingerprint
  host doctor NAME           check OS, init, lingering, Node, OpenClaw, ports, disk, memory (with fixes)
  host install NAME VERSION  install OpenClaw VERSION with a suitable Node on the host (npm)
  host get [NAME] [-o json]  list hosts, or one host with findings, bots and events
  host delete NAME           remove a host that no bot uses
  profile list|get NAME|apply -f FILE [--dry-run] [--yes]|delete NAME|attach NAME --bot B|detach NAME --bot B
                             shared defaults for bots; apply prints the blast radius and asks first
  overlay list|get NAME|apply -f FILE [--dry-run] [--yes]|delete NAME|enable NAME|disable NAME
                             layers chosen by selector (bots, fleets, environments, labels) and time window
  resolved bot NAME          every resolved config path, its value and the layer that set it
  vault list|get|set|delete  the secrets vault (values write-only); \`molthub vault --help\`
  vault set NAME [--dry-run] store a secret (value on stdin or prompt); manifests refer to it by name;
                             replacing one shows the bots that restart first (\`secret set\` is the same)
  vault rotate-key           offline (server stopped): new master key, every data key re-wrapped
  template list | get NAME [-o yaml|json] | apply -f FILE [--dry-run] | delete NAME
  template use TEMPLATE --name BOT [--input k=v …] [--dry-run]   create a bot from a template
                             (--input target.version=… / target.provider=docker / metadata.fleet=… too)
  connector list | get NAME [-o json|yaml] | test NAME | rollouts NAME | delete NAME
  connector add NAME --type anthropic|openai|openrouter|ollama|telegram|discord|slack [--base-url U] [--secret S]
                             shared credential (value on stdin or prompt; slack: bot then app token)
  connector rotate NAME [--dry-run] [--yes]   new value on stdin; shows the bots that restart first
  connector bind NAME --bot B | connector unbind NAME --bot B

Targets (spec.target.provider in a manifest)
${PROVIDER_MODULES.map((m) => `  ${m.kind.padEnd(27)}${m.description}`).join("\n")}

Settings precedence: flags > MOLTHUB_* env > config file > defaults. See docs/operations.md.`;

const commonFlags = {
  "data-dir": { type: "string" },
  config: { type: "string" },
  host: { type: "string" },
  port: { type: "string" },
  server: { type: "string" },
  token: { type: "string" },
  help: { type: "boolean", short: "h" },
} as const;

/** Parses the common flags plus a command's own, typed from their declarations (a string flag reads as a string). */
function parse<X extends ParseArgsOptionsConfig = Record<never, never>>(argv: string[], extra: X = {} as X) {
  try {
    return parseArgs({ args: argv, options: { ...commonFlags, ...extra }, allowPositionals: true, strict: true });
  } catch (e) {
    throw new CliError(`${(e as Error).message}\nRun \`molthub --help\` for the commands and flags.`, 2);
  }
}

function settingsFrom(values: Record<string, unknown>) {
  return resolveSettings({
    dataDir: values["data-dir"],
    config: values.config,
    host: values.host,
    port: values.port,
    publicUrl: values["public-url"],
    tlsCert: values["tls-cert"],
    tlsKey: values["tls-key"],
    trustProxy: values["trust-proxy"],
    logLevel: values["log-level"],
  });
}

function role(v: unknown, fallback: Role): Role {
  if (v === undefined) return fallback;
  if (!ROLES.includes(v as Role)) throw new CliError(`--role must be one of ${ROLES.join(", ")}`, 2);
  return v as Role;
}

async function main(argv: string[]): Promise<number> {
  const [cmd, sub, ..._rest] = argv;
  if (!cmd || cmd === "--help" || cmd === "-h" || cmd === "help") {
    console.log(USAGE);
    return 0;
  }
  switch (cmd) {
    case "version":
    case "--version":
      console.log(VERSION);
      return 0;

    case "serve": {
      const { values } = parse(argv.slice(1), {
        "public-url": { type: "string" },
        "tls-cert": { type: "string" },
        "tls-key": { type: "string" },
        "trust-proxy": { type: "boolean" },
        "log-level": { type: "string" },
      });
      await serve(settingsFrom(values), { installSignalHandlers: true });
      return -1; // keep running
    }

    case "migrate": {
      const { values } = parse(argv.slice(1), { status: { type: "boolean" } });
      chooseMode("migrate", ["offline"], values);
      const s = settingsFrom(values);
      if (values.status) {
        const file = join(s.dataDir, "molthub.db");
        if (!existsSync(file)) {
          console.log(`no store at ${file} yet; every migration is pending`);
          return 0;
        }
        const store = openStore(file);
        try {
          printTable(
            migrationStatus(store).map((m) => ({
              migration: m.tag,
              state: m.applied ? "applied" : "pending",
              at: m.appliedAt ? new Date(m.appliedAt).toISOString() : null,
            })),
            ["migration", "state", "at"],
          );
        } finally {
          store.close();
        }
        return 0;
      }
      prepareDataDir(s.dataDir);
      const store = openStore(join(s.dataDir, "molthub.db"));
      try {
        const r = migrate(store);
        console.log(
          r.applied.length
            ? `applied ${r.applied.join(", ")}${r.backup ? ` (copy taken: ${r.backup})` : ""}`
            : "nothing to migrate; the schema is current",
        );
      } finally {
        store.close();
      }
      return 0;
    }

    case "doctor": {
      const { values } = parse(argv.slice(1));
      chooseMode("doctor", ["offline"], values);
      const s = settingsFrom(values);
      const findings = await doctor({ dataDir: s.dataDir, host: s.host, port: s.port });
      for (const f of findings) {
        console.log(
          `${f.status === "ok" ? "ok  " : f.status === "warn" ? "WARN" : "FAIL"}  ${f.check}: ${f.found}${f.fix ? `\n      → ${f.fix}` : ""}`,
        );
      }
      return findings.some((f) => f.status === "fail") ? 1 : 0;
    }

    case "user": {
      const { values } = parse(argv.slice(2), {
        email: { type: "string" },
        name: { type: "string" },
        role: { type: "string" },
        workspace: { type: "string" },
        "password-stdin": { type: "boolean" },
      });
      if (!values.email) throw new CliError("--email is required", 2);
      if (sub !== "add" && sub !== "passwd") throw new CliError("usage: molthub user add|passwd --email E", 2);
      chooseMode(`user ${sub}`, ["offline"], values);
      const userRole = role(values.role, "owner"); // refuse a bad role before anything is read or written
      const s = settingsFrom(values);
      prepareDataDir(s.dataDir);
      const store = openStore(join(s.dataDir, "molthub.db"));
      try {
        migrate(store);
        loadKeyring(s.dataDir);
        if (sub === "add") {
          const pw = await readSecret(`password for ${values.email}: `);
          const r = await addUserOffline(store.db, {
            email: values.email,
            name: values.name ?? values.email,
            password: pw,
            role: userRole,
            workspace: values.workspace,
          });
          console.log(`user ${values.email} created (${userRole}) in workspace ${r.workspaceId}`);
          return 0;
        }
        if (sub === "passwd") {
          const pw = await readSecret(`new password for ${values.email}: `);
          await setPasswordOffline(store.db, values.email, pw);
          console.log(`password changed for ${values.email}; their sessions and API tokens were revoked`);
          return 0;
        }
      } finally {
        store.close();
      }
      throw new CliError("usage: molthub user add|passwd --email E", 2);
    }

    case "token": {
      if (sub !== "create") throw new CliError("usage: molthub token create --name N [--role R] [--expires-days D]", 2);
      const { values } = parse(argv.slice(2), {
        name: { type: "string" },
        role: { type: "string" },
        "expires-days": { type: "string" },
        email: { type: "string" },
        "password-stdin": { type: "boolean" },
      });
      if (!values.name) throw new CliError("--name is required", 2);
      chooseMode("token create", ["server"], values);
      const client = new ApiClient({ server: values.server, token: values.token });
      if (!client.hasToken) {
        if (!values.email) throw new CliError("give --token (or MOLTHUB_TOKEN), or --email to sign in with a password", 2);
        await client.login(values.email, await readSecret(`password for ${values.email}: `));
      }
      const r = await client.call<{ token: string; item: { id: string; role: string; expiresAt: number | null } }>(
        "POST",
        "/api/v1/tokens",
        {
          name: values.name,
          role: role(values.role, "operator"),
          expiresInDays: values["expires-days"] ? Number(values["expires-days"]) : null,
        },
      );
      // The token goes to stdout alone so it can be captured; everything else to stderr.
      console.error(
        `token "${values.name}" (${r.item.role}${r.item.expiresAt ? `, expires ${new Date(r.item.expiresAt).toISOString()}` : ""}) — shown once, store it now:`,
      );
      console.log(r.token);
      return 0;
    }

    case "secret":
    case "vault": {
      // `secret set NAME` is `vault set NAME`; the vault parses its own flags (--description, --dry-run, --yes,
      // --data-dir for the offline rotate-key)
      const vault = await import("./cli/vault.ts");
      return vault.main(argv.slice(1), {
        makeClient: (v) => new ApiClient({ server: v.server, token: v.token }),
        settings: (v) => settingsFrom(v) as ReturnType<typeof settingsFrom> & { masterKeyCommand?: string },
      });
    }

    case "audit": {
      if (sub !== "verify") throw new CliError("usage: molthub audit verify", 2);
      const { values } = parse(argv.slice(2));
      let result: { ok: boolean; checked: number; brokenAt?: number; reason?: string };
      // an explicit --data-dir wins over a MOLTHUB_TOKEN left in the environment (src/cli/mode.ts)
      if (chooseMode("audit verify", ["offline", "server"], values) === "server") {
        result = await new ApiClient({ server: values.server, token: values.token }).call("GET", "/api/v1/audit/verify");
      } else {
        const s = settingsFrom(values);
        const file = join(s.dataDir, "molthub.db");
        if (!existsSync(file)) throw new CliError(`no store at ${file}; pass --data-dir`);
        const store = openStore(file);
        try {
          result = verifyAudit(store.db, loadKeyring(s.dataDir, process.env, { create: false }));
        } finally {
          store.close();
        }
      }
      if (result.ok) {
        console.log(`audit chain ok: ${result.checked} entries verified`);
        return 0;
      }
      console.log(
        `audit chain BROKEN at entry ${result.brokenAt}: ${result.reason} (${result.checked} entries before it are intact)`,
      );
      return 1;
    }
  }
  // resource groups, each in src/cli/<module>.ts: `molthub host add …`, `molthub profile apply -f …`
  const groups: Record<string, () => Promise<{ run: (client: ApiClient, argv: string[]) => Promise<number> }>> = {
    host: () => import("./cli/hosts.ts"),
    template: () => import("./cli/templates.ts"),
    profile: () => import("./cli/layers.ts"),
    overlay: () => import("./cli/layers.ts"),
    resolved: () => import("./cli/layers.ts"),
    policy: () => import("./cli/policies.ts"),
    connector: () => import("./cli/connectors.ts"),
  };
  if (cmd in groups) {
    const { values, positionals } = parse(argv.slice(1), {
      file: { type: "string", short: "f" },
      output: { type: "string", short: "o" },
      yes: { type: "boolean", short: "y" },
      "dry-run": { type: "boolean" },
      address: { type: "string" },
      user: { type: "string" },
      "ssh-port": { type: "string" },
      "key-file": { type: "string" },
      fingerprint: { type: "string" },
      purge: { type: "boolean" },
      reason: { type: "string" },
      expires: { type: "string" },
      bot: { type: "string" },
      input: { type: "string", multiple: true },
      type: { type: "string" },
      secret: { type: "string" },
      "base-url": { type: "string" },
      template: { type: "string" },
      name: { type: "string" },
      rule: { type: "string" },
    });
    chooseMode(cmd, ["server"], values);
    const client = new ApiClient({ server: values.server, token: values.token });
    const mod = await groups[cmd]!();
    // each module re-reads the flags it needs from argv; `cmd` is passed first so one module can serve two groups
    return mod.run(client, [cmd, ...positionals, ...flagArgs(values)]);
  }
  const clientCmds = ["apply", "diff", "get", "describe", "logs", ...BOT_ACTIONS, "delete", "export"];
  if (clientCmds.includes(cmd)) {
    const args = cmd === "logs" ? argv.slice(1).map((a) => (a === "-f" ? "--follow" : a)) : argv.slice(1);
    const { values, positionals } = parse(args, {
      file: { type: "string", short: "f" },
      output: { type: "string", short: "o" },
      follow: { type: "boolean" },
      tail: { type: "string" },
      purge: { type: "boolean" },
    });
    chooseMode(cmd, ["server"], values);
    const client = new ApiClient({ server: values.server, token: values.token });
    const needKind = (kind: string) => {
      if (positionals[0] !== kind || !positionals[1]) throw new CliError(`usage: molthub ${cmd} ${kind} NAME`, 2);
      return positionals[1];
    };
    switch (cmd) {
      case "apply":
      case "diff":
        if (!values.file) throw new CliError(`usage: molthub ${cmd} -f FILE|DIR|-`, 2);
        return apply(client, values.file, cmd === "diff");
      case "get":
        if (positionals[0] !== "bots" && positionals[0] !== "bot")
          throw new CliError("usage: molthub get bots [-o json|yaml]", 2);
        await getBots(client, values.output);
        return 0;
      case "describe":
        await describeBot(client, needKind("bot"));
        return 0;
      case "logs": {
        // `-f` means follow here, as in kubectl (mapped to --follow above)
        const follow = !!values.follow;
        const name = positionals[0] === "bot" ? positionals[1] : undefined;
        if (!name) throw new CliError("usage: molthub logs bot NAME [-f]", 2);
        await botLogs(client, name, follow, Number(values.tail ?? 200));
        return 0;
      }
      case "delete": {
        const name = needKind("bot");
        await client.call("DELETE", `/api/v1/bots/${encodeURIComponent(name)}${values.purge ? "?purge=true" : ""}`);
        console.log(`bot/${name} deletion queued${values.purge ? " (with its data)" : ""}`);
        return 0;
      }
      case "export":
        await exportAll(client);
        return 0;
      default: {
        const name = needKind("bot");
        const r = await client.call<{ status: string }>("POST", `/api/v1/bots/${encodeURIComponent(name)}/actions`, {
          action: cmd,
        });
        console.log(`bot/${name} ${cmd} queued (status: ${r.status})`);
        return 0;
      }
    }
  }
  throw new CliError(`unknown command "${cmd}"\nRun \`molthub --help\` for the commands.`, 2);
}

/** Flags parsed by the group dispatcher, turned back into `--name value` pairs for the module. */
function flagArgs(values: Record<string, unknown>): string[] {
  const out: string[] = [];
  for (const [k, v] of Object.entries(values)) {
    if (k === "server" || k === "token" || v === undefined || v === false) continue;
    if (v === true) out.push(`--${k}`);
    else if (Array.isArray(v)) for (const x of v) out.push(`--${k}`, String(x));
    else out.push(`--${k}`, String(v));
  }
  return out;
}

// Keep the default so the help text and docs agree with the code.
void defaults;

main(process.argv.slice(2)).then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (e: unknown) => {
    if (e instanceof CliError) {
      console.error(`molthub: ${e.message}`);
      process.exit(e.exitCode);
    }
    if (e instanceof SettingsError || e instanceof StartupError || e instanceof KeyError || e instanceof ServiceError) {
      console.error(`molthub: ${e.message}`);
      process.exit(1);
    }
    console.error(`molthub: unexpected error: ${(e as Error)?.stack ?? e}`);
    process.exit(1);
  },
);
