import { accessSync, constants, existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createProviders } from "../../providers/registry.ts";
import { selfCommand } from "../cli/self-command.ts";
import type { Settings } from "../config.ts";
import { getRetentionDays, pruneAudit } from "../core/audit.ts";
import { systemActor } from "../core/context.ts";
import { EventBus } from "../core/events.ts";
import { migrate, openStore } from "../db/client.ts";
import { DbHostAccess, registerHostAccess } from "../hosts/directory.ts";
import { createLogger, type Logger } from "../log.ts";
import { Reconciler } from "../reconciler/reconciler.ts";
import { openVault } from "../secrets/vault.ts";
import { issueSetupToken, setupPending } from "../services/auth.ts";
import { VERSION } from "../version.ts";
import { createApp } from "./app.ts";
import type { AppDeps } from "./deps.ts";

export class StartupError extends Error {
  override name = "StartupError";
}

/** Checks the data dir exists (creating it 0700) and is writable, before anything is written into it. */
export function prepareDataDir(dir: string): void {
  try {
    if (!existsSync(dir)) mkdirSync(dir, { recursive: true, mode: 0o700 });
    accessSync(dir, constants.W_OK | constants.R_OK);
  } catch (e) {
    throw new StartupError(
      `the data dir ${dir} is not writable (${(e as NodeJS.ErrnoException).code ?? (e as Error).message}); choose another with --data-dir or MOLTHUB_DATA_DIR, or fix its owner/permissions`,
    );
  }
}

export interface Running {
  url: string;
  deps: AppDeps;
  stop(reason?: string): Promise<void>;
}

/**
 * Starts the appliance.
 * 1. Check the data dir, open the store, migrate (with a VACUUM INTO copy when a migration is pending).
 * 2. Load the appliance key; issue a setup token on an empty store and log the setup URL.
 * 3. Listen; a port in use is a clear error and nothing is left half-started.
 */
export async function serve(
  settings: Settings,
  opts: { logger?: Logger; installSignalHandlers?: boolean } = {},
): Promise<Running> {
  const logger = opts.logger ?? createLogger({ level: settings.logLevel });
  prepareDataDir(settings.dataDir);
  const store = openStore(join(settings.dataDir, "molthub.db"));
  let deps: AppDeps;
  try {
    const m = migrate(store);
    if (m.applied.length) logger.info("store migrated", { applied: m.applied, backup: m.backup ?? null });
    // the master key, verified against the store (a wrong or missing key refuses the start); see docs/secrets.md
    const vault = openVault({ db: store.db, dataDir: settings.dataDir, command: settings.masterKeyCommand, pidFile: true });
    for (const n of vault.notes) logger.info(`vault: ${n}`);
    for (const w of vault.warnings) logger.warn(`vault: ${w}`);
    const keyring = vault.keyring;
    deps = { store, keyring, settings, logger, events: new EventBus(), now: Date.now, version: VERSION };
  } catch (e) {
    store.close();
    throw e;
  }

  // SSH hosts: one shared connection pool (pool id = host row id) behind the registered hosts
  const hosts = DbHostAccess.create({
    db: store.db,
    keyring: deps.keyring,
    logger: logger.child({ component: "hosts" }),
    events: deps.events,
    now: deps.now,
  });
  registerHostAccess(store, hosts);

  // bots: providers and the reconciler (adopts what is running, re-plans interrupted jobs)
  if (settings.reconciler) {
    const providers = createProviders(settings, logger, { hosts });
    const reconciler = new Reconciler({
      db: store.db,
      keyring: deps.keyring,
      logger: logger.child({ component: "reconciler" }),
      events: deps.events,
      providers,
      healthIntervalMs: settings.healthIntervalSeconds * 1000,
      driftIntervalMs: settings.driftIntervalSeconds * 1000,
      concurrency: { jobs: settings.reconcileConcurrency, perTarget: settings.targetConcurrency },
    });
    deps.runtime = { reconciler, providers };
  }
  const app = createApp(deps);
  let server: ReturnType<typeof Bun.serve>;
  try {
    server = Bun.serve({
      hostname: settings.host,
      port: settings.port,
      fetch: app.fetch,
      idleTimeout: 0, // SSE streams stay open; they send their own pings
      ...(settings.tlsCert ? { tls: { cert: Bun.file(settings.tlsCert), key: Bun.file(settings.tlsKey!) } } : {}),
    });
  } catch (e) {
    hosts.close();
    store.close();
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "EADDRINUSE")
      throw new StartupError(
        `port ${settings.port} on ${settings.host} is in use; stop what uses it or start with --port <other>`,
      );
    if (code === "EACCES")
      throw new StartupError(
        `not allowed to listen on ${settings.host}:${settings.port}; use a port above 1024 or run with the needed rights`,
      );
    throw e;
  }
  const scheme = settings.tlsCert ? "https" : "http";
  const base =
    settings.publicUrl?.replace(/\/$/, "") ??
    `${scheme}://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${server.port}`;
  logger.info("molthub listening", { url: base, dataDir: settings.dataDir, version: VERSION });
  deps.runtime?.reconciler.start();

  if (setupPending(store.db)) {
    const t = issueSetupToken(store.db);
    if (t) {
      // The one place a secret is deliberately printed: the operator needs it to claim the appliance.
      process.stdout.write(
        `\n  Molthub has no users yet. Claim it within 1 hour at:\n\n    ${base}/setup?token=${t.token}\n\n  (or offline: ${selfCommand()} user add --data-dir ${settings.dataDir} --email you@example.com --role owner)\n\n`,
      );
    }
  }

  // daily audit retention
  const retention = setInterval(() => {
    try {
      pruneAudit(store.db, deps.keyring, { actor: systemActor, now: Date.now }, getRetentionDays(store.db));
    } catch (e) {
      logger.warn("audit prune failed", { err: (e as Error).message });
    }
  }, 6 * 3_600_000);
  retention.unref?.();

  let stopping: Promise<void> | null = null;
  const stop = (reason = "stop") => {
    stopping ??= (async () => {
      logger.info("shutting down", { reason });
      clearInterval(retention);
      await deps.runtime?.reconciler.stop();
      // SSH forwards of remote providers (gateway endpoints, remote Docker engines), then the pool itself
      for (const p of Object.values(deps.runtime?.providers ?? {})) {
        const closeAll = (p as { closeAll?: () => Promise<void> } | undefined)?.closeAll;
        if (closeAll) await Promise.race([closeAll.call(p).catch(() => {}), Bun.sleep(2000)]);
      }
      hosts.close();
      // let in-flight requests finish (bounded), then close whatever is left (SSE streams)
      await Promise.race([server.stop(false), Bun.sleep(3000)]);
      await server.stop(true);
      store.sqlite.exec("PRAGMA wal_checkpoint(TRUNCATE)");
      store.close();
      logger.info("stopped");
    })();
    return stopping;
  };
  if (opts.installSignalHandlers) {
    for (const sig of ["SIGTERM", "SIGINT"] as const) {
      process.once(sig, () => {
        // give open streams a bounded time, then exit
        const t = setTimeout(() => process.exit(0), 10_000);
        stop(sig).then(() => {
          clearTimeout(t);
          process.exit(0);
        });
      });
    }
  }
  return { url: `${scheme}://${settings.host.includes(":") ? `[${settings.host}]` : settings.host}:${server.port}`, deps, stop };
}
