/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { stringify as toYaml } from "yaml";
import * as z from "zod";
import { authorize, type ServiceContext } from "../../core/context.ts";
import { ServiceError } from "../../core/errors.ts";
import { BOT_ACTIONS } from "../../domain/bot-actions.ts";
import { ManifestError, NAME_RE, parseManifests } from "../../domain/manifest.ts";
import type { EvaluationResult } from "../../domain/policy.ts";
import {
  buildManifest,
  defaultWizardState,
  missingSecrets,
  neededRefs,
  readWizardState,
  secretNeeds,
  type TargetHost,
  targetableHosts,
  unknownModelProvider,
  validateModel,
  validateTarget,
  type WizardState,
  type WizardStep,
} from "../../domain/wizard.ts";
import { redactString } from "../../secrets/redact.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import {
  type ApplyResult,
  applyManifest,
  botAction,
  deleteBot,
  diffRevisions,
  getBot,
  getRevision,
  listBots,
} from "../../services/bots.ts";
import { listHosts } from "../../services/hosts.ts";
import { listSecrets, putSecret } from "../../services/secrets.ts";
import { attempt, blockedPolicy, fieldIssues, nameParam, parseForm, readForm, STALE_REQUEST, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
// The one import of a provider's internals in the web: step 1 checks a Docker image is pinned with the Docker
// provider's own rule. To come from providers/registry.ts (the provider's target schema) once it exists.
import { canOperate, emptyForm, type FormState, type ManifestProblem } from "../ui/components.tsx";
import { ACTION_LABEL, BotPage } from "./detail.tsx";
import { type ApplyState, BotsListPage } from "./list.tsx";
import { DiffPage, RevisionPage } from "./revisions.tsx";
import { type WizardData, WizardNotAllowed, WizardPage } from "./wizard.tsx";

/** The largest manifest text the apply form takes (the API's body limit still applies on top). */
const MAX_MANIFEST_CHARS = 256_000;
const MAX_DOCUMENTS = 50;

function poke(c: WebContext): void {
  c.get("deps").runtime?.reconciler.poke();
}

function yaml(v: unknown): string {
  return toYaml(v, { lineWidth: 0 });
}

/** The problems a refused apply reports: one per path, named by document when there are several. */
function problemsOf(err: ServiceError | ManifestError, doc: string): ManifestProblem[] {
  const out = fieldIssues(err).map((d) => ({ doc, path: d.path, message: d.message }));
  return out.length ? out : [{ doc, path: "(document)", message: err.message }];
}

function docLabel(doc: unknown, i: number, count: number): string {
  if (count === 1) return "";
  const name = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  return `document ${i + 1}${typeof name === "string" ? ` (${name.slice(0, 63)})` : ""}`;
}

// ---------- page builders ----------

function listPage(c: WebContext, apply: ApplyState = { text: "" }, status = 200) {
  const data = { bots: listBots(ctxOf(c)), role: c.get("actor")!.role, apply };
  return renderPage(c, "Bots", <BotsListPage data={data} />, status);
}

function botPage(c: WebContext, name: string, opts: { error?: string } = {}, status = 200) {
  const ctx = ctxOf(c);
  const g = getBot(ctx, name);
  const data = {
    bot: g.bot,
    role: c.get("actor")!.role,
    revisions: g.revisions,
    events: g.events,
    health: g.health,
    job: g.job,
    manifestYaml: yaml(g.manifest),
    configJson: JSON.stringify(g.config, null, 2),
    description: g.manifest.metadata.description,
    secrets: g.secrets,
    error: opts.error,
    now: ctx.now(),
  };
  return renderPage(c, `${name} · Bots`, <BotPage data={data} />, status);
}

// ---------- the create-bot wizard (its logic is domain/wizard.ts) ----------

/** Hosts a bot can target: registered, with a confirmed key. */
function wizardHosts(ctx: ServiceContext): TargetHost[] {
  return targetableHosts(listHosts(ctx));
}

function wizardPage(
  c: WebContext,
  opts: { step: WizardStep; state: WizardState; form?: FormState; review?: WizardData["review"] },
  status = 200,
) {
  const ctx = ctxOf(c);
  const { step, state } = opts;
  const needs = secretNeeds(state);
  // only references to the secrets still needed travel on
  state.refs = neededRefs(state);
  let review = opts.review;
  if (step === 4 && !review) {
    const manifest = buildManifest(state, wizardHosts(ctx));
    const r = dryRun(ctx, manifest, { createOnly: true });
    review = {
      yaml: yaml(manifest),
      changes: r.ok ? r.value.changes : [],
      error: r.ok ? undefined : { message: sentence(r.error.message), problems: problemsOf(r.error, "") },
      policy: r.ok ? r.value.policy : blockedPolicy(r.error),
    };
    if (!r.ok && status === 200) status = r.error.status;
  }
  const data: WizardData = {
    step,
    state,
    form: opts.form ?? emptyForm(),
    needs,
    secrets: listSecrets(ctx).map((s) => s.name),
    hosts: step === 1 ? wizardHosts(ctx) : undefined,
    unknownProvider: step === 3 ? unknownModelProvider(state) : undefined,
    review,
  };
  return renderPage(c, "New bot · Bots", <WizardPage data={data} />, status);
}

function dryRun(ctx: ServiceContext, manifest: unknown, opts: { createOnly?: boolean } = {}) {
  try {
    return {
      ok: true as const,
      value: applyManifest(ctx, manifest, { dryRun: true, source: "ui", createOnly: opts.createOnly }),
    };
  } catch (e) {
    if (e instanceof ServiceError) return { ok: false as const, error: e };
    throw e;
  }
}

const invalid = (errors: Record<string, string>, values: Record<string, string> = {}): FormState => ({
  values,
  errors,
  message: "Some fields need attention.",
});

/**
 * Step 3: a value entered for a key is stored right away (write-only), and the bot then refers to it by
 * name; no value is ever put back into the page.
 */
function storeSecrets(
  ctx: ServiceContext,
  state: WizardState,
  values: Record<string, string>,
): { errors: Record<string, string>; formValues: Record<string, string> } {
  const errors: Record<string, string> = {};
  const formValues: Record<string, string> = {};
  const existing = new Set(listSecrets(ctx).map((s) => s.name));
  for (const need of secretNeeds(state)) {
    const value = values[`value_${need.env}`] ?? "";
    const newName = (values[`newname_${need.env}`] ?? "").trim();
    formValues[`newname_${need.env}`] = newName;
    if (value !== "") {
      if (!NAME_RE.test(newName)) {
        errors[`newname_${need.env}`] = "lowercase letters, digits and dashes, up to 63";
      } else if (value.length > 65536) {
        errors[`value_${need.env}`] = "at most 65536 characters";
      } else {
        try {
          putSecret(ctx, { name: newName, value });
          state.refs[need.env] = newName;
          existing.add(newName);
        } catch (e) {
          if (!(e instanceof ServiceError)) throw e;
          errors[`value_${need.env}`] = e.message;
        }
      }
    } else if (!state.refs[need.env] || !existing.has(state.refs[need.env]!)) {
      errors[`ref_${need.env}`] = "pick a stored secret, or enter a value to store a new one";
    }
    if (state.refs[need.env]) formValues[`ref_${need.env}`] = state.refs[need.env]!;
  }
  return { errors, formValues };
}

// ---------- routes ----------

const ActionForm = z.strictObject({ action: z.enum(BOT_ACTIONS, { error: "pick an action" }) });
const DeleteForm = z.strictObject({ purge: z.literal("on").optional() });
const RevisionNumber = z.coerce.number().int().min(1).max(1_000_000);

/** Bots (list, apply, create wizard, one bot, diffs, actions). Secrets live in src/web/secrets/. */
export function botPages() {
  const app = new Hono<AppEnv>();
  for (const p of ["/bots", "/bots/*"]) app.use(p, signedIn);

  app.get("/bots", (c) => listPage(c));

  app.post("/bots/apply", async (c) => {
    const values = await readForm(c);
    const text = values.manifest ?? "";
    const mode = values.mode === "apply" ? "apply" : "dry-run";
    // the text goes back into the box on an error: known secret values in it are redacted first
    const fail = (message: string, problems: ManifestProblem[], status: number, policy?: EvaluationResult) =>
      listPage(c, { text: redactString(text), mode, error: { message, problems, policy } }, status);
    if (!text.trim()) return fail("Paste a manifest first.", [], 400);
    if (text.length > MAX_MANIFEST_CHARS)
      return fail(`The text is longer than ${MAX_MANIFEST_CHARS} characters; apply fewer manifests at a time.`, [], 400);
    let docs: unknown[];
    try {
      docs = parseManifests(text, "manifest");
    } catch (e) {
      if (!(e instanceof ManifestError)) throw e;
      return fail(sentence(e.message), problemsOf(e, ""), 400);
    }
    if (docs.length === 0) return fail("The text holds no manifest.", [], 400);
    if (docs.length > MAX_DOCUMENTS) return fail(`At most ${MAX_DOCUMENTS} manifests at a time.`, [], 400);

    const ctx = ctxOf(c);
    // every document is checked before any is stored, so a bad one leaves the others untouched too
    const checked = docs.map((doc) => dryRun(ctx, doc));
    const failed = checked.map((r, i) => ({ r, i })).filter((x) => !x.r.ok);
    if (failed.length) {
      const problems = failed.flatMap(({ r, i }) =>
        problemsOf((r as { error: ServiceError }).error, docLabel(docs[i], i, docs.length)),
      );
      const first = (failed[0]!.r as { error: ServiceError }).error;
      const message =
        docs.length === 1
          ? sentence(first.message)
          : `${failed.length} of ${docs.length} manifests have problems; nothing was ${mode === "apply" ? "applied" : "checked further"}.`;
      return fail(
        message,
        problems,
        first.status,
        failed.map(({ r }) => blockedPolicy((r as { error: ServiceError }).error)).find(Boolean),
      );
    }
    const asResult = (r: ApplyResult) => ({
      name: r.bot.name,
      action: r.action,
      revision: r.revision,
      changes: r.changes,
      policy: r.policy,
    });
    if (mode === "dry-run") {
      return listPage(c, { text, mode, results: checked.map((r) => asResult((r as { value: ApplyResult }).value)) });
    }
    const results: ApplyResult[] = [];
    for (const [i, doc] of docs.entries()) {
      const r = await attempt(() => applyManifest(ctx, doc, { source: "ui" }));
      if (!r.ok) {
        if (results.some((x) => x.action !== "unchanged")) poke(c);
        const done = results.length ? ` ${results.map((x) => `${x.bot.name} ${x.action}`).join(", ")} before it.` : "";
        return listPage(
          c,
          {
            text,
            mode,
            results: results.map(asResult),
            error: {
              message: `${sentence(r.error.message)}${done}`,
              problems: problemsOf(r.error, docLabel(doc, i, docs.length)),
              policy: blockedPolicy(r.error),
            },
          },
          r.error.status,
        );
      }
      results.push(r.value);
    }
    const changed = results.filter((r) => r.action !== "unchanged");
    if (changed.length) poke(c);
    const summary = results
      .map((r) => `${r.bot.name}: ${r.action}${r.action === "unchanged" ? "" : ` (revision ${r.revision})`}`)
      .join("; ");
    const to = results.length === 1 && changed.length === 1 ? `/bots/${results[0]!.bot.name}` : "/bots";
    return redirectWith(c, to, { kind: "ok", text: `Applied. ${summary}.` });
  });

  // ----- the wizard (before /bots/:name, so "new" is not taken for a name) -----
  app.get("/bots/new", (c) => {
    if (!canOperate(c.get("actor")!.role)) return renderPage(c, "New bot · Bots", <WizardNotAllowed />);
    return wizardPage(c, { step: 1, state: defaultWizardState() });
  });

  app.post("/bots/new", async (c) => {
    const ctx = ctxOf(c);
    authorize(ctx, "operator");
    const values = await readForm(c);
    const stepNo = Number(values.step);
    const step: WizardStep = stepNo === 2 || stepNo === 3 || stepNo === 4 ? stepNo : 1;
    const state = readWizardState(values);
    if (values.go === "back") return wizardPage(c, { step: Math.max(1, step - 1) as WizardStep, state });

    // each step re-checks the earlier ones: the hidden fields came back from the browser
    const taken = listBots(ctx).map((b) => b.name);
    const targetErrors = validateTarget(state, { taken, hostNames: wizardHosts(ctx).map((h) => h.name) });
    if (Object.keys(targetErrors).length) return wizardPage(c, { step: 1, state, form: invalid(targetErrors) }, 400);
    if (step === 1) return wizardPage(c, { step: 2, state });

    const modelErrors = validateModel(state);
    if (Object.keys(modelErrors).length) return wizardPage(c, { step: 2, state, form: invalid(modelErrors) }, 400);
    if (step === 2) return wizardPage(c, { step: 3, state });

    if (step === 3) {
      const { errors, formValues } = storeSecrets(ctx, state, values);
      if (Object.keys(errors).length) return wizardPage(c, { step: 3, state, form: invalid(errors, formValues) }, 400);
      return wizardPage(c, { step: 4, state });
    }

    // step 4: deploy (or, for any other button, show the review again)
    const missing = missingSecrets(state);
    if (missing.length) {
      return wizardPage(
        c,
        {
          step: 3,
          state,
          form: invalid(
            Object.fromEntries(missing.map((n) => [`ref_${n.env}`, "pick a stored secret, or enter a value to store a new one"])),
          ),
        },
        400,
      );
    }
    if (values.go !== "deploy") return wizardPage(c, { step: 4, state });
    const manifest = buildManifest(state, wizardHosts(ctx));
    // create-only: a bot that took the name since step 1 is refused, never updated
    const r = await attempt(() => applyManifest(ctx, manifest, { source: "ui", createOnly: true }));
    if (!r.ok) {
      return wizardPage(
        c,
        {
          step: 4,
          state,
          review: {
            yaml: yaml(manifest),
            changes: [],
            error: { message: sentence(r.error.message), problems: problemsOf(r.error, "") },
            policy: blockedPolicy(r.error),
          },
        },
        r.error.status,
      );
    }
    poke(c);
    return redirectWith(c, `/bots/${state.name}`, {
      kind: "ok",
      text: `Created ${state.name} (revision ${r.value.revision}). Molthub is deploying it now; the status, health and events below update as it goes.`,
    });
  });

  // ----- one bot -----
  app.get("/bots/:name", (c) => botPage(c, nameParam(c, "bot")));

  app.post("/bots/:name/actions", async (c) => {
    const name = nameParam(c, "bot");
    const parsed = parseForm(ActionForm, await readForm(c));
    if (!parsed.ok) return botPage(c, name, { error: "Pick one of the actions and try again." }, 400);
    const r = await attempt(() => botAction(ctxOf(c), name, parsed.data.action));
    if (!r.ok) return botPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    poke(c);
    return redirectWith(c, `/bots/${name}`, {
      kind: "ok",
      text: `${ACTION_LABEL[parsed.data.action]} queued for ${name}; the status below follows it.`,
    });
  });

  app.post("/bots/:name/delete", async (c) => {
    const name = nameParam(c, "bot");
    const parsed = parseForm(DeleteForm, await readForm(c));
    if (!parsed.ok) return botPage(c, name, { error: STALE_REQUEST }, 400);
    const purge = parsed.data.purge === "on";
    const r = await attempt(() => deleteBot(ctxOf(c), name, { purge }));
    if (!r.ok) return botPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    poke(c);
    return redirectWith(c, "/bots", {
      kind: "ok",
      text: `Deleting ${name}${purge ? " and its data" : " (its data is kept)"}. It disappears from the list when it is gone.`,
    });
  });

  app.get("/bots/:name/diff", (c) => {
    const name = nameParam(c, "bot");
    const ctx = ctxOf(c);
    const from = RevisionNumber.safeParse(c.req.query("from"));
    const to = RevisionNumber.safeParse(c.req.query("to"));
    if (!from.success || !to.success) throw new ServiceError("invalid_request", "pick two revisions to compare");
    const d = diffRevisions(ctx, name, from.data, to.data);
    const revisions = getBot(ctx, name).revisions.map((r) => r.revision);
    return renderPage(
      c,
      `r${d.from} → r${d.to} · ${name}`,
      <DiffPage data={{ name, from: d.from, to: d.to, revisions, config: d.config, manifest: d.manifest }} />,
    );
  });

  app.get("/bots/:name/revisions/:revision", (c) => {
    const name = nameParam(c, "bot");
    const rev = RevisionNumber.safeParse(c.req.param("revision"));
    if (!rev.success) throw new ServiceError("not_found", "no such revision");
    const r = getRevision(ctxOf(c), name, rev.data);
    const data = {
      name,
      revision: r.revision,
      source: r.source,
      actor: r.actor,
      createdAt: r.createdAt,
      configHash: r.configHash,
      manifestYaml: yaml(r.manifest),
      configJson: JSON.stringify(r.config, null, 2),
    };
    return renderPage(c, `r${r.revision} · ${name}`, <RevisionPage data={data} />);
  });

  return app;
}
