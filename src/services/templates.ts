import { randomUUID } from "node:crypto";
import { and, eq } from "drizzle-orm";
import { recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { inTransaction } from "../core/transaction.ts";
import type { Tx } from "../db/client.ts";
import { templates } from "../db/schema.ts";
import { canonicalJson } from "../domain/openclaw-config.ts";
import {
  BUILTIN_TEMPLATES,
  builtinTemplate,
  type FromTemplateOptions,
  manifestFromTemplate,
  renderTemplate,
  type Template,
  TemplateError,
  validateTemplate,
} from "../domain/templates/index.ts";
import { type ApplyResult, applyRevision, type BlastEntry, manifestInput, rerenderBots } from "../fleet/revisions.ts";
import { type FoundTemplate as Found, findTemplate, loadTemplate as loadUser } from "../fleet/sources.ts";
import { liveBots } from "../fleet/store.ts";

/**
 * Templates: the built-in ones (code, read-only) and the workspace's own (the `templates` table). Names are
 * unique across both: a user template may not take a built-in's name. A bot refers to its template by name
 * (`spec.template`), so a template edit reaches every bot made from it — through `rerenderBots`, which shows
 * the blast radius first and refuses the edit when any of those bots would fail.
 */

export interface TemplateSummary {
  name: string;
  title: string;
  description: string;
  tags: string[];
  builtin: boolean;
  version: number;
  updatedAt: number | null;
  inputs: Template["spec"]["inputs"];
  /** env vars the template delivers from stored secrets */
  secretEnvs: string[];
  /** bots (by name) whose manifest names this template */
  usedBy: string[];
}

/** Bot name → the template its current desired manifest names. */
function botsByTemplate(tx: Tx, ws: string): Map<string, string[]> {
  const out = new Map<string, string[]>();
  for (const { row: b, rev } of liveBots(tx, ws)) {
    let t: string | undefined;
    try {
      t = rev().manifest.spec.template?.name;
    } catch {
      continue;
    }
    if (t) out.set(t, [...(out.get(t) ?? []), b.name]);
  }
  return out;
}

function summary(f: Found, usedBy: string[]): TemplateSummary {
  const t = f.template;
  return {
    name: t.metadata.name,
    title: t.metadata.title,
    description: t.metadata.description,
    tags: t.metadata.tags ?? [],
    builtin: f.builtin,
    version: f.version,
    updatedAt: f.updatedAt,
    inputs: t.spec.inputs,
    secretEnvs: Object.keys(t.spec.secrets).sort(),
    usedBy,
  };
}

// ---------- verbs ----------

export function listTemplates(ctx: ServiceContext): TemplateSummary[] {
  const ws = authorize(ctx, "viewer");
  const used = botsByTemplate(ctx.db, ws);
  const out = BUILTIN_TEMPLATES.map((t) =>
    summary({ template: t, builtin: true, version: 1, updatedAt: null }, used.get(t.metadata.name) ?? []),
  );
  for (const row of ctx.db.select().from(templates).where(eq(templates.workspaceId, ws)).orderBy(templates.name).all()) {
    let t: Template;
    try {
      t = loadUser(row);
    } catch {
      continue;
    }
    out.push(summary({ template: t, builtin: false, version: row.version, updatedAt: row.updatedAt }, used.get(row.name) ?? []));
  }
  return out;
}

export function getTemplate(ctx: ServiceContext, name: string): TemplateSummary & { template: Template } {
  const ws = authorize(ctx, "viewer");
  const f = findTemplate(ctx.db, ws, name);
  if (!f) throw new ServiceError("not_found", `no template named ${name}; see the list of templates`);
  return { ...summary(f, botsByTemplate(ctx.db, ws).get(name) ?? []), template: f.template };
}

export interface PutTemplateResult {
  template: TemplateSummary;
  action: "created" | "updated" | "unchanged";
  version: number;
  dryRun: boolean;
  /** the bots made from the template and what the change does to each (new revisions when not a dry run) */
  blast: BlastEntry[];
}

/**
 * Creates or updates a user template. An update re-renders every bot made from it (the blast radius); when
 * any of them would fail (an input the new version requires, a policy, a missing secret), nothing is saved.
 * With `dryRun` nothing is saved either way and the blast radius is returned.
 */
export function putTemplate(
  ctx: ServiceContext,
  input: unknown,
  opts: { name?: string; dryRun?: boolean } = {},
): PutTemplateResult {
  const ws = authorize(ctx, "admin");
  if (opts.name && input && typeof input === "object" && !Array.isArray(input)) {
    const md = (input as { metadata?: unknown }).metadata;
    if (md && typeof md === "object" && !Array.isArray(md) && (md as { name?: unknown }).name === undefined) {
      input = { ...(input as object), metadata: { ...(md as object), name: opts.name } };
    }
  }
  let t: Template;
  try {
    t = validateTemplate(input);
  } catch (e) {
    if (e instanceof TemplateError) throw ServiceError.fromDocument(e);
    throw e;
  }
  const name = t.metadata.name;
  if (opts.name && opts.name !== name)
    throw new ServiceError(
      "invalid_request",
      `the URL names the template ${opts.name} but metadata.name is ${name}; make them the same`,
      [{ path: "metadata.name", message: `expected ${opts.name}` }],
    );
  if (builtinTemplate(name))
    throw new ServiceError("conflict", `${name} is a built-in template and cannot be replaced; save yours under another name`, [
      { path: "metadata.name", message: "taken by a built-in template" },
    ]);
  const run = (tx: Tx): PutTemplateResult => {
    const now = ctx.now();
    const existing = tx
      .select()
      .from(templates)
      .where(and(eq(templates.workspaceId, ws), eq(templates.name, name)))
      .get();
    const spec = canonicalJson(t);
    if (existing && canonicalJson(JSON.parse(existing.spec)) === spec) {
      return {
        template: summary(
          { template: t, builtin: false, version: existing.version, updatedAt: existing.updatedAt },
          botsByTemplate(tx, ws).get(name) ?? [],
        ),
        action: "unchanged",
        version: existing.version,
        dryRun: !!opts.dryRun,
        blast: [],
      };
    }
    const version = existing ? existing.version + 1 : 1;
    if (existing)
      tx.update(templates)
        .set({ spec: JSON.stringify(t), version, updatedAt: now })
        .where(eq(templates.id, existing.id))
        .run();
    else
      tx.insert(templates)
        .values({ id: randomUUID(), workspaceId: ws, name, spec: JSON.stringify(t), version, createdAt: now, updatedAt: now })
        .run();
    const blast = existing
      ? rerenderBots(tx, ctx, ws, {
          write: !opts.dryRun,
          reason: `template ${name} version ${version}`,
          only: (m) => m.spec.template?.name === name,
        })
      : [];
    const failed = blast.filter((b) => b.action === "failed");
    const result: PutTemplateResult = {
      template: summary({ template: t, builtin: false, version, updatedAt: now }, botsByTemplate(tx, ws).get(name) ?? []),
      action: existing ? "updated" : "created",
      version,
      dryRun: !!opts.dryRun,
      blast,
    };
    if (opts.dryRun) return result;
    if (failed.length) {
      throw new ServiceError(
        "conflict",
        `the change to template ${name} would break ${failed.map((b) => b.bot).join(", ")}; nothing was saved — fix the template or those bots first`,
        failed.flatMap((b) =>
          (b.error?.issues.length ? b.error.issues : [{ path: "(bot)", message: b.error?.message ?? "fails" }]).map((i) => ({
            path: `bots.${b.bot}.${i.path}`,
            message: i.message,
          })),
        ),
      );
    }
    recordAudit(tx, ctx, {
      action: existing ? "template.update" : "template.create",
      resourceType: "template",
      resourceId: name,
      summary: {
        name,
        version,
        bots: blast.filter((b) => b.action === "updated").map((b) => ({ bot: b.bot, revision: b.revision })),
      },
    });
    return result;
  };
  return inTransaction(ctx, !!opts.dryRun, run);
}

/** Deletes a user template; refused for built-ins and while bots are made from it. */
export function deleteTemplate(ctx: ServiceContext, name: string): void {
  const ws = authorize(ctx, "admin");
  if (builtinTemplate(name)) throw new ServiceError("conflict", `${name} is a built-in template and cannot be deleted`);
  ctx.db.transaction(
    (tx) => {
      const row = tx
        .select()
        .from(templates)
        .where(and(eq(templates.workspaceId, ws), eq(templates.name, name)))
        .get();
      if (!row) throw new ServiceError("not_found", `no template named ${name}`);
      const users = botsByTemplate(tx, ws).get(name) ?? [];
      if (users.length)
        throw new ServiceError(
          "conflict",
          `template ${name} is used by ${users.join(", ")}; move those bots off it (or delete them) first`,
          users.map((b) => ({ path: `bots.${b}`, message: "uses this template" })),
        );
      tx.delete(templates).where(eq(templates.id, row.id)).run();
      recordAudit(tx, ctx, {
        action: "template.delete",
        resourceType: "template",
        resourceId: name,
        summary: { name, version: row.version },
      });
    },
    { behavior: "immediate" },
  );
}

export type CreateFromTemplateInput = Omit<FromTemplateOptions, "description">;

/**
 * Creates a bot from a template: checks the inputs (every wrong one listed, paths `inputs.NAME`), builds the
 * manifest with `spec.template` set, then applies it create-only, so secrets and policy are checked like any
 * other write. The audit entry is the bot's own (`bot.create`), written by applyManifest.
 */
export function createBotFromTemplate(
  ctx: ServiceContext,
  templateName: string,
  input: CreateFromTemplateInput,
  opts: { dryRun?: boolean; source?: "apply" | "ui" } = {},
): ApplyResult & { manifest: unknown } {
  const ws = authorize(ctx, "operator");
  const f = findTemplate(ctx.db, ws, templateName);
  if (!f) throw new ServiceError("not_found", `no template named ${templateName}; see the list of templates`);
  const r = renderTemplate(f.template, input.inputs ?? {});
  if (r.issues.length) {
    throw new ServiceError(
      "invalid_request",
      `the inputs for template ${templateName} have ${r.issues.length} problem${r.issues.length > 1 ? "s" : ""}; nothing was created`,
      r.issues,
    );
  }
  const manifest = manifestFromTemplate(f.template, input);
  const m = manifestInput(manifest);
  const result = inTransaction(ctx, !!opts.dryRun, (tx) =>
    applyRevision(tx, ctx, ws, m, { createOnly: true, source: opts.source ?? "apply" }),
  );
  return { ...result, manifest };
}
