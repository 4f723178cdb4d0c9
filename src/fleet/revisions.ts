import { randomBytes, randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import type { ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import type { Tx } from "../db/client.ts";
import { botEvents, botRevisions, bots, hosts } from "../db/schema.ts";
import { type Manifest, ManifestError, targetHost, validateManifest } from "../domain/manifest.ts";
import { allocatePort, canonicalJson, diffConfig, type PathChange } from "../domain/openclaw-config.ts";
import type { EvaluationResult } from "../domain/policy.ts";
import { enqueue } from "./queue.ts";
import { type RenderedBot, renderBot } from "./render.ts";
import { type BotRow, type BotView, botById, botView, desiredRevision, latestRevision, liveBots } from "./store.ts";

/**
 * Every new revision of a bot is written here: `applyRevision` (apply, template use, profile attach/detach,
 * connector binding, drift adoption) and `rerenderBots` (a change to shared configuration) share one private
 * `writeRevision` — the revision, the bot's desired revision, the timeline event, the reconcile job (ADR 0003:
 * written in the transaction that causes it) and the audit entry, together or not at all.
 * No authorization here: the verbs that call these check the actor first.
 */

export type RevisionSource = "apply" | "ui" | "adopt";

export interface ApplyResult {
  bot: BotView;
  action: "created" | "updated" | "unchanged";
  revision: number;
  changes: PathChange[];
  /** policy findings that did not block (advisory packs, warnings, excepted rules) */
  policy: EvaluationResult;
}

export interface BlastEntry {
  bot: string;
  action: "updated" | "unchanged" | "failed";
  /** the new revision when written, or the one it would get */
  revision: number;
  changes: PathChange[];
  error?: { code: string; message: string; issues: { path: string; message: string }[] };
}

/** Validates a manifest from a request or a template; a bad one is an invalid_request listing every wrong path. */
export function manifestInput(input: unknown): Manifest {
  try {
    return validateManifest(input);
  } catch (e) {
    if (e instanceof ManifestError) throw ServiceError.fromDocument(e);
    throw e;
  }
}

type Ctx = Pick<ServiceContext, "keyring" | "actor" | "requestId" | "now">;

/** A port (and the browser-control port beside it) that nothing on this machine listens on yet. */
function portFreeLocally(port: number): boolean {
  for (const p of [port, port + 2]) {
    try {
      Bun.listen({ hostname: "127.0.0.1", port: p, socket: { data() {} } }).stop(true);
    } catch {
      return false;
    }
  }
  return true;
}

/** Addresses that reach the appliance's own machine: a host entry there shares the local bots' port space. */
function isLoopbackAddress(address: string): boolean {
  const a = address
    .trim()
    .toLowerCase()
    .replace(/^\[|\]$/g, "");
  return a === "localhost" || a === "::1" || /^127\./.test(a) || a === "::ffff:127.0.0.1";
}

type HostKeys = Pick<typeof hosts.$inferSelect, "address" | "fingerprint" | "seenFingerprint">;

/**
 * What identifies the machine behind a host entry: its host key (pinned, or the one it presented while unpinned)
 * and its address; "local" for the appliance's own machine. Two entries sharing any of these are treated as one
 * machine, so their bots never share a port. Merging two machines by mistake only costs port space; splitting one
 * gives two gateways the same port (the second cannot start, or a client reaches the wrong one).
 */
function machineKeys(h: HostKeys | undefined, ws: string, name: string): string[] {
  if (name === "local") return ["local"];
  if (!h) return [`name:${ws}/${name}`];
  const keys = [`addr:${h.address.trim().toLowerCase()}`];
  if (h.fingerprint) keys.push(`key:${h.fingerprint}`);
  else if (h.seenFingerprint) keys.push(`key:${h.seenFingerprint}`);
  if (isLoopbackAddress(h.address)) keys.push("local");
  return keys;
}

/**
 * The ports of every bot on the same machine as `host` of workspace `ws` (any workspace's, any host entry's that
 * reaches that machine), the ports its host doctor last found listening there, and whether that machine is this
 * one. Entries are grouped transitively: an unpinned entry sharing an address with a pinned one joins its machine,
 * and so does every entry sharing that one's key.
 */
function machinePorts(tx: Tx, ws: string, host: string, exceptBot?: string): { ports: number[]; busy: number[]; local: boolean } {
  const entries = tx
    .select({
      workspaceId: hosts.workspaceId,
      name: hosts.name,
      address: hosts.address,
      fingerprint: hosts.fingerprint,
      seenFingerprint: hosts.seenFingerprint,
      doctor: hosts.doctor,
    })
    .from(hosts)
    .all();
  const byName = new Map(entries.map((h) => [`${h.workspaceId}\0${h.name}`, h]));
  // union-find over machine keys: every entry's keys end up in one group per machine
  const parent = new Map<string, string>();
  const find = (k: string): string => {
    let r = k;
    while (parent.has(r) && parent.get(r) !== r) r = parent.get(r)!;
    parent.set(k, r);
    return r;
  };
  const union = (keys: string[]) => {
    for (const k of keys) if (!parent.has(k)) parent.set(k, k);
    for (const k of keys.slice(1)) parent.set(find(k), find(keys[0]!));
  };
  for (const h of entries) union(machineKeys(h, h.workspaceId, h.name));
  const machineOf = (w: string, name: string) => {
    const keys = machineKeys(byName.get(`${w}\0${name}`), w, name);
    union(keys);
    return find(keys[0]!);
  };
  const mine = machineOf(ws, host);
  const ports = tx
    .select({ id: bots.id, workspaceId: bots.workspaceId, host: bots.host, port: bots.port })
    .from(bots)
    .all()
    .filter((b) => b.id !== exceptBot && machineOf(b.workspaceId, b.host) === mine)
    .map((b) => b.port);
  // what the host doctor saw listening (`ss -ltn`) on any entry of this machine: a port taken by someone else
  const busy = entries.filter((h) => machineOf(h.workspaceId, h.name) === mine).flatMap((h) => listeningPorts(h.doctor));
  return { ports, busy, local: parent.has("local") && find("local") === mine };
}

/** `facts.listening` of a stored doctor report (src/hosts/doctor.ts), or nothing. */
function listeningPorts(doctor: string): number[] {
  try {
    const l = (JSON.parse(doctor) as { facts?: { listening?: unknown } }).facts?.listening;
    return Array.isArray(l) ? l.filter((p): p is number => Number.isInteger(p)) : [];
  } catch {
    return [];
  }
}

/**
 * The port a new bot on `host` (a host entry of workspace `ws`, or "local") gets: spaced from every other bot on
 * the same *machine* — host entries are matched by host key and address, not by name — from what the host
 * doctor last saw listening there, and from `exclude` (ports found taken on the target); on this machine also free
 * right now. The reconciler still asks the target (`portFree`) before it starts the gateway.
 */
export function allocateBotPort(tx: Tx, ws: string, host: string, opts: { exclude?: number[]; exceptBot?: string } = {}): number {
  const { ports, busy, local } = machinePorts(tx, ws, host, opts.exceptBot);
  // a listener at L collides with a base port p when p <= L <= p + 110; `taken` keeps 120 clear either side
  return allocatePort([...ports, ...busy, ...(opts.exclude ?? [])], local ? portFreeLocally : undefined);
}

/**
 * Moves a bot whose port was lost to a foreign process (a provider's `foreign_listener`, or `portFree` false before
 * a start) to a new port on its machine, in the caller's transaction: a new revision (`gateway.port` is Molthub's,
 * so this is the only way it changes; the gateway restarts on it), a `port.reallocated` timeline event and a
 * `bot.port_reallocated` audit entry. `taken` are the ports known to be held on the target (the lost one is added);
 * the caller checks the new port on the target (`portFree`) before starting, and calls again with it in `taken`
 * when that is held too. Returns the new port.
 *
 * @example
 * const port = inTransaction(app, false, (tx) => reallocatePort(tx, systemCtx, bot.id, { taken: [bot.port], holder: "pid 42 (python3)" }));
 */
export function reallocatePort(
  tx: Tx,
  ctx: Ctx,
  botId: string,
  opts: { taken: number[] /** who held the old port, for the timeline and audit */; holder?: string },
): number {
  const bot = botById(tx, botId);
  if (!bot) throw new ServiceError("not_found", `bot ${botId} no longer exists`);
  const from = bot.port;
  const port = allocateBotPort(tx, bot.workspaceId, bot.host, { exclude: [from, ...opts.taken], exceptBot: bot.id });
  const current = desiredRevision(tx, bot);
  const rendered = renderBot(tx, bot.workspaceId, current.manifest, { port, host: bot.host, botId: bot.id, now: ctx.now() });
  tx.update(bots).set({ port }).where(eq(bots.id, bot.id)).run();
  const reason = `port ${from} was taken by ${opts.holder ?? "another process"}; moved to port ${port}`;
  writeRevision(tx, ctx, {
    bot: { ...bot, port },
    manifest: current.manifest,
    rendered,
    revision: latestRevision(tx, bot.id).revision + 1,
    source: "port",
    changes: diffConfig(current.config, rendered.config),
    reason,
    audit: {
      action: "bot.port_reallocated",
      summary: {
        name: bot.name,
        from,
        to: port,
        taken: [...new Set([from, ...opts.taken])],
        ...(opts.holder ? { holder: opts.holder } : {}),
      },
    },
  });
  tx.insert(botEvents)
    .values({
      botId: bot.id,
      ts: ctx.now(),
      level: "warn",
      type: "port.reallocated",
      message: `${reason}; the gateway restarts there (the old port's holder was sent nothing)`,
      data: JSON.stringify({ from, to: port }),
    })
    .run();
  return port;
}

interface RevisionWrite {
  bot: BotRow;
  /** the bot's own manifest for this revision */
  manifest: Manifest;
  rendered: RenderedBot;
  revision: number;
  source: RevisionSource | "layer" | "port";
  changes: PathChange[];
  /** the audit entry of a non-first revision, when it is not a plain update (a port move) */
  audit?: { action: string; summary: Record<string, unknown> };
  /** why a shared change made this revision (a template, profile, overlay or connector) */
  reason?: string;
  /** columns of the bot row that follow the manifest (fleet, labels, desired state) */
  botFields?: Partial<BotRow>;
}

/** The single copy of the revision write: revision → bot → event → job → audit, in the caller's transaction. */
function writeRevision(tx: Tx, ctx: Ctx, w: RevisionWrite): void {
  const now = ctx.now();
  const first = w.revision === 1;
  const r = w.rendered;
  tx.insert(botRevisions)
    .values({
      botId: w.bot.id,
      revision: w.revision,
      manifest: JSON.stringify(w.manifest),
      config: JSON.stringify(r.config),
      configHash: r.hash,
      secretRefs: JSON.stringify(r.secretRefs),
      provenance: JSON.stringify(r.resolution.provenance),
      resolved: JSON.stringify(r.resolution.value),
      source: w.source,
      actor: ctx.actor.label,
      createdAt: now,
    })
    .run();
  const paths = w.changes.map((c) => c.path);
  if (!first) {
    tx.update(bots)
      .set({
        ...w.botFields,
        desiredRevision: w.revision,
        failures: 0,
        updatedAt: now,
        statusReason: `revision ${w.revision} queued${w.reason ? ` (${w.reason})` : ""}`,
      })
      .where(eq(bots.id, w.bot.id))
      .run();
  }
  const counted = first ? "" : ` (${paths.length} config change${paths.length === 1 ? "" : "s"})`;
  tx.insert(botEvents)
    .values({
      botId: w.bot.id,
      ts: now,
      level: "info",
      type: "revision",
      message: `revision ${w.revision} created by ${ctx.actor.label}${w.reason ? `: ${w.reason}` : ""}${counted}`,
      ...(first ? {} : { data: JSON.stringify({ paths }) }),
    })
    .run();
  enqueue(tx, w.bot.id, "reconcile", { now, requestId: ctx.requestId });
  const name = w.manifest.metadata.name;
  if (first) {
    const summary = { name, provider: w.manifest.spec.target.provider, revision: 1, port: w.bot.port };
    recordAudit(tx, ctx, { action: "bot.create", resourceType: "bot", resourceId: w.bot.id, summary });
  } else if (w.audit) {
    recordAudit(tx, ctx, {
      action: w.audit.action,
      resourceType: "bot",
      resourceId: w.bot.id,
      summary: { ...w.audit.summary, revision: w.revision },
    });
  } else {
    const summary = { name, revision: w.revision, ...(w.reason ? { reason: w.reason } : {}), paths };
    recordAudit(tx, ctx, {
      action: w.source === "adopt" ? "bot.adopt" : "bot.update",
      resourceType: "bot",
      resourceId: w.bot.id,
      summary,
    });
  }
}

/**
 * Stores a manifest as the bot's next revision (or its first, creating the bot) and queues a reconcile, in the
 * caller's transaction. Rendering refuses it (layers, secrets, policy) before anything is written. Applying the
 * same manifest twice changes nothing. A dry run is the caller's transaction rolled back.
 */
export function applyRevision(
  tx: Tx,
  ctx: Ctx,
  ws: string,
  m: Manifest,
  opts: { source: RevisionSource; createOnly?: boolean },
): ApplyResult {
  const now = ctx.now();
  const name = m.metadata.name;
  const host = targetHost(m);
  const existing = tx
    .select()
    .from(bots)
    .where(and(eq(bots.workspaceId, ws), eq(bots.name, name)))
    .get();
  if (existing?.deleting)
    throw new ServiceError("conflict", `bot ${name} is being deleted; wait until it is gone, then apply again`);
  if (existing && opts.createOnly) {
    throw new ServiceError(
      "conflict",
      `a bot named ${name} already exists; pick another name, or apply the manifest to update it`,
      [{ path: "metadata.name", message: "taken" }],
    );
  }
  if (!existing) {
    const port = allocateBotPort(tx, ws, host);
    const rendered = renderBot(tx, ws, m, { port, host, now });
    const id = randomUUID();
    const token = randomBytes(32).toString("base64url");
    tx.insert(bots)
      .values({
        id,
        workspaceId: ws,
        name,
        fleet: m.metadata.fleet ?? null,
        environment: m.metadata.environment ?? null,
        labels: JSON.stringify(m.metadata.labels ?? {}),
        provider: m.spec.target.provider,
        host,
        port,
        gatewayTokenEnc: ctx.keyring.seal("gateway-token", token, id),
        desiredRevision: 1,
        desiredState: m.spec.paused ? "paused" : "running",
        status: "pending",
        statusReason: "queued for creation",
        createdAt: now,
        updatedAt: now,
      })
      .run();
    const changes = diffConfig({}, rendered.config);
    writeRevision(tx, ctx, { bot: botById(tx, id), manifest: m, rendered, revision: 1, source: opts.source, changes });
    return { bot: botView(botById(tx, id), m), action: "created", revision: 1, changes, policy: rendered.policy };
  }
  const current = latestRevision(tx, existing.id);
  if (current.manifest.spec.target.provider !== m.spec.target.provider || host !== existing.host) {
    throw new ServiceError(
      "conflict",
      `bot ${name} runs on ${existing.provider}@${existing.host}; moving it to another target is not supported in place — delete it and apply again`,
      [{ path: "spec.target", message: "target changed" }],
    );
  }
  const rendered = renderBot(tx, ws, m, { port: existing.port, host: existing.host, botId: existing.id, now });
  const changes = diffConfig(current.config, rendered.config);
  const same =
    canonicalJson(current.manifest) === canonicalJson(m) &&
    current.configHash === rendered.hash &&
    canonicalJson(current.secretRefs) === canonicalJson(rendered.secretRefs);
  if (same)
    return { bot: botView(existing, m), action: "unchanged", revision: current.revision, changes: [], policy: rendered.policy };
  const revision = current.revision + 1;
  // `paused` in the manifest pauses the bot; taking it out resumes a bot it paused
  const desiredState: BotRow["desiredState"] = m.spec.paused
    ? "paused"
    : existing.desiredState === "paused"
      ? "running"
      : existing.desiredState;
  const botFields = {
    fleet: m.metadata.fleet ?? null,
    environment: m.metadata.environment ?? null,
    labels: JSON.stringify(m.metadata.labels ?? {}),
    desiredState,
  };
  writeRevision(tx, ctx, { bot: existing, manifest: m, rendered, revision, source: opts.source, changes, botFields });
  return { bot: botView(botById(tx, existing.id), m), action: "updated", revision, changes, policy: rendered.policy };
}

/**
 * The blast radius of a change to shared configuration (a template, profile, overlay, connector or policy):
 * re-renders the workspace's bots against what is stored now — call it inside the transaction that made the
 * change — and, with `write`, stores a new revision (source "layer") for every bot whose config or secret
 * references changed and queues it. Bots that would fail (conflict, policy, missing secret) are reported, not
 * written; the caller decides whether that refuses the change.
 */
export function rerenderBots(
  tx: Tx,
  ctx: Ctx,
  ws: string,
  opts: { write: boolean; reason: string; only?: (m: Manifest) => boolean },
): BlastEntry[] {
  const out: BlastEntry[] = [];
  for (const { row: b } of liveBots(tx, ws)) {
    const current = desiredRevision(tx, b);
    if (opts.only && !opts.only(current.manifest)) continue;
    let rendered: RenderedBot;
    try {
      rendered = renderBot(tx, ws, current.manifest, { port: b.port, host: b.host, botId: b.id, now: ctx.now() });
    } catch (e) {
      if (!(e instanceof ServiceError)) throw e;
      out.push({
        bot: b.name,
        action: "failed",
        revision: current.revision,
        changes: [],
        error: { code: e.code, message: e.message, issues: e.issues },
      });
      continue;
    }
    const changes = diffConfig(current.config, rendered.config);
    if (current.configHash === rendered.hash && canonicalJson(current.secretRefs) === canonicalJson(rendered.secretRefs)) {
      out.push({ bot: b.name, action: "unchanged", revision: current.revision, changes: [] });
      continue;
    }
    const revision = latestRevision(tx, b.id).revision + 1;
    out.push({ bot: b.name, action: "updated", revision, changes });
    if (opts.write)
      writeRevision(tx, ctx, {
        bot: b,
        manifest: current.manifest,
        rendered,
        revision,
        source: "layer",
        changes,
        reason: opts.reason,
      });
  }
  return out;
}
