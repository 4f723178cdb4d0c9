/**
 * The target kinds this appliance offers. Adding one is adding its folder (`providers/<kind>/index.ts` exporting a
 * ProviderModule, its implementation beside it) and one line in PROVIDER_MODULES; it must pass the provider
 * contract suite (test/providers/contract.ts) against its real backend.
 *
 * Everything that names the kinds derives from this list: the manifest's `spec.target` union
 * (src/domain/manifest.ts), the CLI help, the wizard's choices and the providers the reconciler drives.
 */
import { join } from "node:path";
import type * as z from "zod";
import type { Settings } from "../src/config.ts";
import type { HostAccess } from "../src/hosts/host-access.ts";
import type { Logger } from "../src/log.ts";
import { docker } from "./docker/index.ts";
import { launchd } from "./launchd/index.ts";
import { type LoadedOnUse, loadOnUse } from "./load-on-use.ts";
import { local } from "./local/index.ts";
import type { ProviderDeps, ProviderModule } from "./provider.ts";
import { systemd } from "./systemd/index.ts";

/** One line per target kind. The order is the one error messages list the kinds in ("Expected 'docker' | …"). */
export const PROVIDER_MODULES = [docker, local, systemd, launchd] as const;

/** The target schemas in list order, as a tuple: what z.discriminatedUnion needs to infer the `Target` union. */
export type TargetSchemas = SchemasOf<typeof PROVIDER_MODULES>;
type SchemasOf<T extends readonly unknown[]> = T extends readonly [infer M extends { targetSchema: unknown }, ...infer Rest]
  ? [M["targetSchema"], ...SchemasOf<Rest>]
  : [];

/** The kinds whose target is a registered host running an OpenClaw version (systemd, launchd). */
export type HostProviderKind = Extract<
  z.output<(typeof PROVIDER_MODULES)[number]["targetSchema"]>,
  { host: string; version: string }
>["provider"];

/** The module of a kind, or undefined for a kind this appliance does not know. */
function providerModule(kind: string): ProviderModule | undefined {
  return PROVIDER_MODULES.find((m) => m.kind === kind);
}

/** What the target's provider would refuse it for at deploy time (e.g. an unpinned image); paths are relative to `spec.target`. */
export function targetProblems(target: { provider: string; [field: string]: unknown }): { path: string; message: string }[] {
  return providerModule(target.provider)?.targetProblems?.(target) ?? [];
}

/**
 * The provider for bots on a host whose init system the host doctor found (`hosts.init`: systemd, launchd, none or
 * not known yet): the module that declares that init, else the first module that runs bots on hosts (systemd).
 */
export function providerForInit(init: string | null | undefined): HostProviderKind {
  const onHosts = PROVIDER_MODULES.filter((m) => m.hostInit !== undefined);
  const match = init ? onHosts.find((m) => m.hostInit === init) : undefined;
  return (match ?? onHosts[0]!).kind as HostProviderKind;
}

/** What every provider gets from the appliance's settings. */
function providerDeps(
  settings: Pick<Settings, "dataDir" | "openclawDir" | "openclawNode" | "botResolvConf" | "dockerMountOpenclaw">,
  logger: Logger,
  hosts?: HostAccess,
): ProviderDeps {
  return {
    botsDir: join(settings.dataDir, "bots"),
    installDir: join(settings.dataDir, "openclaw"),
    openclawDir: settings.openclawDir,
    openclawNode: settings.openclawNode,
    resolvConf: settings.botResolvConf,
    dockerMountOpenclaw: settings.dockerMountOpenclaw,
    logger,
    hosts,
  };
}

/**
 * The providers this appliance offers, by kind, each loaded on first use. `extras.hosts` (the host registry) enables
 * the SSH targets: systemd, launchd and Docker engines on registered hosts. `closeAll()` of each closes its SSH
 * forwards (shutdown).
 */
export function createProviders(
  settings: Settings,
  logger: Logger,
  extras: { hosts?: HostAccess } = {},
): Partial<Record<string, LoadedOnUse>> {
  const deps = providerDeps(settings, logger, extras.hosts);
  return Object.fromEntries(PROVIDER_MODULES.map((m) => [m.kind, loadOnUse(m, deps)]));
}
