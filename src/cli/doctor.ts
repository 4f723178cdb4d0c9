import { accessSync, constants, existsSync, statSync } from "node:fs";
import { join } from "node:path";
import { verifyAudit } from "../core/audit.ts";
import { migrationStatus, openStore } from "../db/client.ts";
import { loadKeyring } from "../secrets/keyring.ts";
import { checkKey } from "../secrets/vault.ts";

export interface Finding {
  check: string;
  status: "ok" | "warn" | "fail";
  found: string;
  fix?: string;
}

async function portFinding(host: string, port: number): Promise<Finding> {
  try {
    const l = Bun.listen({ hostname: host, port, socket: { data() {} } });
    l.stop(true);
    return { check: "port", status: "ok", found: `${host}:${port} is free` };
  } catch {
    try {
      const r = await fetch(`http://${host.includes(":") ? `[${host}]` : host}:${port}/healthz`, {
        signal: AbortSignal.timeout(2000),
      });
      const b = (await r.json()) as { status?: string; version?: string };
      if (b.status === "live")
        return { check: "port", status: "ok", found: `a Molthub (${b.version}) is running on ${host}:${port}` };
    } catch {
      // not ours
    }
    return {
      check: "port",
      status: "fail",
      found: `${host}:${port} is in use by another program`,
      fix: `stop it, or start Molthub with --port <other>`,
    };
  }
}

/** Read-only checks of an installation; each finding says what was found and what to do. */
export async function doctor(opts: { dataDir: string; host: string; port: number }): Promise<Finding[]> {
  const out: Finding[] = [];
  const dir = opts.dataDir;
  if (!existsSync(dir)) {
    out.push({
      check: "data dir",
      status: "warn",
      found: `${dir} does not exist yet`,
      fix: "it is created on the first `molthub serve`; or pass --data-dir",
    });
  } else {
    try {
      accessSync(dir, constants.W_OK | constants.R_OK);
      const mode = statSync(dir).mode & 0o777;
      out.push(
        mode & 0o077
          ? {
              check: "data dir",
              status: "warn",
              found: `${dir} is writable but readable by others (mode ${mode.toString(8)})`,
              fix: `chmod 700 ${dir}`,
            }
          : { check: "data dir", status: "ok", found: `${dir} is writable, mode ${mode.toString(8)}` },
      );
    } catch {
      out.push({
        check: "data dir",
        status: "fail",
        found: `${dir} is not writable by this user`,
        fix: `chown it to the user running Molthub, or pass another --data-dir`,
      });
    }
    const keyFile = join(dir, "master.key");
    if (process.env.MOLTHUB_MASTER_KEY) out.push({ check: "master key", status: "ok", found: "from MOLTHUB_MASTER_KEY" });
    else if (process.env.MOLTHUB_MASTER_KEY_COMMAND)
      out.push({ check: "master key", status: "ok", found: "from MOLTHUB_MASTER_KEY_COMMAND" });
    else if (existsSync(keyFile)) {
      const mode = statSync(keyFile).mode & 0o777;
      out.push(
        mode & 0o077
          ? { check: "master key", status: "warn", found: `${keyFile} has mode ${mode.toString(8)}`, fix: `chmod 600 ${keyFile}` }
          : { check: "master key", status: "ok", found: `${keyFile} (mode 600)` },
      );
    } else if (existsSync(join(dir, "molthub.db"))) {
      out.push({
        check: "master key",
        status: "fail",
        found: "the store exists but master.key is missing",
        fix: "restore master.key from your backup or set MOLTHUB_MASTER_KEY; without it encrypted values cannot be read",
      });
    }
    const dbFile = join(dir, "molthub.db");
    if (existsSync(dbFile)) {
      try {
        const store = openStore(dbFile);
        try {
          const ic = store.sqlite.query("PRAGMA integrity_check").all() as { integrity_check: string }[];
          const ok = ic.length === 1 && ic[0]!.integrity_check === "ok";
          out.push(
            ok
              ? { check: "database", status: "ok", found: "integrity_check ok" }
              : {
                  check: "database",
                  status: "fail",
                  found: `integrity_check: ${ic
                    .slice(0, 3)
                    .map((r) => r.integrity_check)
                    .join("; ")}`,
                  fix: "stop Molthub and restore the last backup (docs/operations.md#backup)",
                },
          );
          const pending = migrationStatus(store).filter((m) => !m.applied);
          out.push(
            pending.length
              ? {
                  check: "migrations",
                  status: "warn",
                  found: `${pending.length} pending (${pending.map((m) => m.tag).join(", ")})`,
                  fix: "they are applied on the next start, after a copy of the database is taken",
                }
              : { check: "migrations", status: "ok", found: "schema is current" },
          );
          const key = checkKey(store.db, dir);
          out.push(
            key.ok
              ? { check: "master key opens the store", status: "ok", found: key.message }
              : {
                  check: "master key opens the store",
                  status: "fail",
                  found: key.message,
                  fix: "start with the key this data dir was sealed with (docs/secrets.md#wrong-or-missing-key); Molthub refuses to start until then",
                },
          );
          try {
            const v = verifyAudit(store.db, loadKeyring(dir, process.env, { create: false }));
            out.push(
              v.ok
                ? { check: "audit chain", status: "ok", found: `${v.checked} entries verified` }
                : {
                    check: "audit chain",
                    status: "fail",
                    found: `broken at entry ${v.brokenAt}: ${v.reason}`,
                    fix: "the audit log was altered outside Molthub; keep a copy of the database for investigation",
                  },
            );
          } catch (e) {
            out.push({ check: "audit chain", status: "fail", found: (e as Error).message });
          }
        } finally {
          store.close();
        }
      } catch (e) {
        out.push({
          check: "database",
          status: "fail",
          found: `cannot open ${dbFile}: ${(e as Error).message}`,
          fix: "check the file's owner, or restore it from a backup",
        });
      }
    } else {
      out.push({ check: "database", status: "ok", found: "no store yet; it is created on the first start" });
    }
  }
  out.push(await portFinding(opts.host, opts.port));
  return out;
}
