import { BOT_ACTIONS } from "../domain/bot-actions.ts";
/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { redactString } from "../secrets/redact.ts";
import * as z from "zod";
import { stringify as toYaml } from "yaml";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { applyManifest, botAction, deleteBot, diffRevisions, exportManifests, getBot, getRevision, listBots, type ApplyResult, type BotAction } from "../services/bots.ts";
import { listSecrets, putSecret } from "../services/secrets.ts";
import { listHosts } from "../services/hosts.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { ServiceError } from "../core/errors.ts";
import { ManifestError, NAME_RE, parseManifests, VERSION_RE } from "../domain/manifest.ts";
import { imagePinProblem } from "../../providers/docker/spec.ts";
import { emptyForm, type FormState, type ManifestProblem } from "../../views/components.tsx";
import { BotPage, BotsListPage, DiffPage, RevisionPage, type ApplyState } from "../../views/pages/bots.tsx";
import {
  defaultWizardState,
  WIZARD_FIELDS,
  WizardNotAllowed,
  WizardPage,
  type SecretNeed,
  type WizardData,
  type WizardState,
  type WizardStep,
} from "../../views/pages/bots-wizard.tsx";
import { canOperate } from "../../views/pages/bots.tsx";
import { attempt, EmptyForm, fieldIssues, nameParam, parseForm, readForm, sentence, STALE_REQUEST } from "./forms.ts";
import { redirectWith, renderPage, signedIn, type WebContext } from "./render.tsx";
import { blockedPolicy } from "./policies.tsx";
import type { EvaluationResult } from "../domain/policy.ts";

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
  const g = getBot(ctxOf(c), name);
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
    error: opts.error,
  };
  return renderPage(c, `${name} · Bots`, <BotPage data={data} />, status);
}

// ---------- the create-bot wizard: state, validation, the manifest it builds ----------

/** Which env var each model provider reads its key from; null: no key. Unknown providers get none. */
const PROVIDER_KEYS: Record<string, { env: string; what: string } | null> = {
  anthropic: { env: "ANTHROPIC_API_KEY", what: "Anthropic API key" },
  openai: { env: "OPENAI_API_KEY", what: "OpenAI API key" },
  google: { env: "GEMINI_API_KEY", what: "Google Gemini API key" },
  openrouter: { env: "OPENROUTER_API_KEY", what: "OpenRouter API key" },
  mistral: { env: "MISTRAL_API_KEY", what: "Mistral API key" },
  xai: { env: "XAI_API_KEY", what: "xAI API key" },
  groq: { env: "GROQ_API_KEY", what: "Groq API key" },
  deepseek: { env: "DEEPSEEK_API_KEY", what: "DeepSeek API key" },
  ollama: null,
  lmstudio: null,
  vllm: null,
};

const MODEL_RE = /^[a-z0-9][a-z0-9._-]*\/[^\s]+$/;
const LABEL_KEY_RE = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/i;
const DM_POLICIES = ["pairing", "allowlist", "disabled"];

function providerOf(model: string): string {
  return model.split("/")[0] ?? "";
}

function clipName(s: string): string {
  return s.slice(0, 63).replace(/-+$/, "");
}

/** The secrets a bot with these choices needs, in the order the wizard asks for them. */
function secretNeeds(s: WizardState): SecretNeed[] {
  const out: SecretNeed[] = [];
  const p = providerOf(s.model);
  const key = PROVIDER_KEYS[p];
  if (key) out.push({ env: key.env, what: key.what, suggest: `${p}-api-key` });
  const per = (suffix: string) => clipName(`${s.name || "bot"}-${suffix}`);
  if (s.telegram === "on") out.push({ env: "TELEGRAM_BOT_TOKEN", what: "Telegram bot token", suggest: per("telegram-bot-token") });
  if (s.discord === "on") out.push({ env: "DISCORD_BOT_TOKEN", what: "Discord bot token", suggest: per("discord-bot-token") });
  if (s.slack === "on") {
    out.push({ env: "SLACK_BOT_TOKEN", what: "Slack bot token (xoxb-…)", suggest: per("slack-bot-token") });
    out.push({ env: "SLACK_APP_TOKEN", what: "Slack app-level token (xapp-…)", suggest: per("slack-app-token") });
  }
  return out;
}

function parseLabels(text: string): { labels: Record<string, string>; error?: string } {
  const labels: Record<string, string> = {};
  for (const part of text.split(/[,\n]/).map((p) => p.trim()).filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return { labels, error: `"${part.slice(0, 40)}" is not key=value` };
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!LABEL_KEY_RE.test(k)) return { labels, error: `the key "${k.slice(0, 40)}" may only use letters, digits and . _ / -` };
    if (v.length > 63) return { labels, error: `the value of ${k} is longer than 63 characters` };
    labels[k] = v;
  }
  return { labels };
}

function idList(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** The wizard's state from a submitted form. Secret values are not part of it. */
function readState(values: Record<string, string>): WizardState {
  const s = defaultWizardState();
  for (const f of WIZARD_FIELDS) s[f] = (values[f] ?? "").trim();
  for (const [k, v] of Object.entries(values)) {
    const m = /^ref_([A-Z][A-Z0-9_]{0,127})$/.exec(k);
    if (m && NAME_RE.test(v.trim())) s.refs[m[1]!] = v.trim();
  }
  return s;
}

type WizardHost = { name: string; init: string | null; status: string };

/** Hosts a bot can target: the key is confirmed (a host awaiting confirmation or with a changed key is not offered). */
function wizardHosts(ctx: ServiceContext): WizardHost[] {
  return listHosts(ctx).filter((h) => h.fingerprint && h.status !== "key_mismatch").map((h) => ({ name: h.name, init: h.init, status: h.status }));
}

function validateTarget(s: WizardState, taken: string[], hostNames: string[] = []): Record<string, string> {
  const e: Record<string, string> = {};
  if (!s.name) e.name = "give the bot a name";
  else if (!NAME_RE.test(s.name)) e.name = "lowercase letters, digits and dashes, 1–63 characters, starting and ending with a letter or digit";
  else if (taken.includes(s.name)) e.name = `a bot named ${s.name} exists already; pick another name`;
  if (s.provider !== "local" && s.provider !== "docker" && s.provider !== "host") e.provider = "pick where the bot runs";
  if ((s.provider === "local" || s.provider === "host") && !VERSION_RE.test(s.version)) e.version = "an OpenClaw version like 2026.9.6";
  if (s.provider === "host" && !hostNames.includes(s.host)) e.host = hostNames.length ? "pick one of your hosts" : "add a host under Hosts and confirm its key first";
  if (s.provider === "docker") {
    const problem = imagePinProblem(s.image);
    if (problem) e.image = problem;
    if (s.network !== "host" && s.network !== "bridge") e.network = "host or bridge";
  }
  if (s.fleet && !NAME_RE.test(s.fleet)) e.fleet = "lowercase letters, digits and dashes";
  if (s.environment && !NAME_RE.test(s.environment)) e.environment = "lowercase letters, digits and dashes";
  const labels = parseLabels(s.labels);
  if (labels.error) e.labels = labels.error;
  return e;
}

function validateModel(s: WizardState): Record<string, string> {
  const e: Record<string, string> = {};
  if (!s.model) e.model = "pick a model";
  else if (s.model.length > 200 || !MODEL_RE.test(s.model)) e.model = "provider/model, like anthropic/claude-sonnet-4-5";
  for (const ch of ["telegram", "discord", "slack"] as const) if (s[ch] !== "" && s[ch] !== "on") e[ch] = "tick the box or leave it empty";
  if (!DM_POLICIES.includes(s.dmPolicy)) e.dmPolicy = "pick a policy for direct messages";
  const ids = idList(s.allowFrom);
  if (s.dmPolicy === "allowlist" && ids.length === 0) e.allowFrom = "an allowlist needs at least one sender ID";
  if (ids.some((id) => id.length > 100)) e.allowFrom = "each ID at most 100 characters";
  return e;
}

function secretRef(env: string) {
  return { source: "env", provider: "default", id: env };
}

/** The Bot manifest the wizard's choices describe. Secrets appear only as env-var references. */
function buildManifest(s: WizardState, hosts: WizardHost[] = []): Record<string, unknown> {
  const hostInit = hosts.find((h) => h.name === s.host)?.init;
  const labels = parseLabels(s.labels).labels;
  const metadata: Record<string, unknown> = { name: s.name };
  if (s.fleet) metadata.fleet = s.fleet;
  if (s.environment) metadata.environment = s.environment;
  if (Object.keys(labels).length) metadata.labels = labels;
  const target = s.provider === "docker" ? { provider: "docker", image: s.image, network: s.network || "host" }
    : s.provider === "host" ? { provider: hostInit === "launchd" ? "launchd" : "systemd", host: s.host, version: s.version }
    : { provider: "local", version: s.version };
  // The provider's key reaches the gateway as its standard env var (spec.secrets below). No
  // models.providers entry: the gateway fills that entry's model list itself, and a config that names the
  // provider there would then be a patch that removes the gateway's entries (refused as drift).
  const openclaw: Record<string, unknown> = { agents: { defaults: { model: s.model } } };
  const dm: Record<string, unknown> = { dmPolicy: s.dmPolicy || "pairing" };
  if (s.dmPolicy === "allowlist") dm.allowFrom = idList(s.allowFrom);
  const channels: Record<string, unknown> = {};
  if (s.telegram === "on") channels.telegram = { enabled: true, botToken: secretRef("TELEGRAM_BOT_TOKEN"), ...dm };
  if (s.discord === "on") channels.discord = { enabled: true, token: secretRef("DISCORD_BOT_TOKEN"), ...dm };
  if (s.slack === "on") channels.slack = { enabled: true, mode: "socket", botToken: secretRef("SLACK_BOT_TOKEN"), appToken: secretRef("SLACK_APP_TOKEN"), ...dm };
  if (Object.keys(channels).length) openclaw.channels = channels;
  const secrets = Object.fromEntries(secretNeeds(s).map((n) => [n.env, { secret: s.refs[n.env] ?? "" }]));
  return { apiVersion: "molthub/v1", kind: "Bot", metadata, spec: { target, openclaw, secrets } };
}

function wizardPage(c: WebContext, opts: { step: WizardStep; state: WizardState; form?: FormState; review?: WizardData["review"] }, status = 200) {
  const ctx = ctxOf(c);
  const { step, state } = opts;
  const needs = secretNeeds(state);
  // only references to the secrets still needed travel on
  state.refs = Object.fromEntries(needs.filter((n) => state.refs[n.env]).map((n) => [n.env, state.refs[n.env]!]));
  let review = opts.review;
  if (step === 4 && !review) {
    const manifest = buildManifest(state, wizardHosts(ctx));
    const r = dryRun(ctx, manifest, { createOnly: true });
    review = { yaml: yaml(manifest), changes: r.ok ? r.value.changes : [], error: r.ok ? undefined : { message: sentence(r.error.message), problems: problemsOf(r.error, "") }, policy: r.ok ? r.value.policy : blockedPolicy(r.error) };
    if (!r.ok && status === 200) status = r.error.status;
  }
  const p = providerOf(state.model);
  const data: WizardData = {
    step,
    state,
    form: opts.form ?? emptyForm(),
    needs,
    secrets: listSecrets(ctx).map((s) => s.name),
    hosts: step === 1 ? wizardHosts(ctx) : undefined,
    unknownProvider: step === 3 && p && !(p in PROVIDER_KEYS) ? p : undefined,
    review,
  };
  return renderPage(c, "New bot · Bots", <WizardPage data={data} />, status);
}

function dryRun(ctx: ServiceContext, manifest: unknown, opts: { createOnly?: boolean } = {}) {
  try {
    return { ok: true as const, value: applyManifest(ctx, manifest, { dryRun: true, source: "ui", createOnly: opts.createOnly }) };
  } catch (e) {
    if (e instanceof ServiceError) return { ok: false as const, error: e };
    throw e;
  }
}

const invalid = (errors: Record<string, string>, values: Record<string, string> = {}): FormState => ({ values, errors, message: "Some fields need attention." });

/**
 * Step 3: a value entered for a key is stored right away (write-only), and the bot then refers to it by
 * name; no value is ever put back into the page.
 */
function storeSecrets(ctx: ServiceContext, state: WizardState, values: Record<string, string>): { errors: Record<string, string>; formValues: Record<string, string> } {
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

const ACTION_DONE: Record<BotAction, string> = {
  start: "Start",
  stop: "Stop",
  restart: "Restart",
  pause: "Pause",
  resume: "Resume",
};

/** Bots (list, apply, create wizard, one bot, diffs, actions). Secrets live in src/web/secrets.tsx. */
export function botPages() {
  const app = new Hono<AppEnv>();
  for (const p of ["/bots", "/bots/*"]) app.use(p, signedIn);

  app.get("/bots", (c) => listPage(c));

  app.post("/bots/apply", async (c) => {
    const values = await readForm(c);
    const text = values.manifest ?? "";
    const mode = values.mode === "apply" ? "apply" : "dry-run";
    // the text goes back into the box on an error: known secret values in it are redacted first
    const fail = (message: string, problems: ManifestProblem[], status: number, policy?: EvaluationResult) => listPage(c, { text: redactString(text), mode, error: { message, problems, policy } }, status);
    if (!text.trim()) return fail("Paste a manifest first.", [], 400);
    if (text.length > MAX_MANIFEST_CHARS) return fail(`The text is longer than ${MAX_MANIFEST_CHARS} characters; apply fewer manifests at a time.`, [], 400);
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
      const problems = failed.flatMap(({ r, i }) => problemsOf((r as { error: ServiceError }).error, docLabel(docs[i], i, docs.length)));
      const first = (failed[0]!.r as { error: ServiceError }).error;
      const message = docs.length === 1 ? sentence(first.message) : `${failed.length} of ${docs.length} manifests have problems; nothing was ${mode === "apply" ? "applied" : "checked further"}.`;
      return fail(message, problems, first.status, failed.map(({ r }) => blockedPolicy((r as { error: ServiceError }).error)).find(Boolean));
    }
    const asResult = (r: ApplyResult) => ({ name: r.bot.name, action: r.action, revision: r.revision, changes: r.changes, policy: r.policy });
    if (mode === "dry-run") {
      return listPage(c, { text, mode, results: checked.map((r) => asResult((r as { value: ApplyResult }).value)) });
    }
    const results: ApplyResult[] = [];
    for (const [i, doc] of docs.entries()) {
      const r = await attempt(() => applyManifest(ctx, doc, { source: "ui" }));
      if (!r.ok) {
        if (results.some((x) => x.action !== "unchanged")) poke(c);
        const done = results.length ? ` ${results.map((x) => `${x.bot.name} ${x.action}`).join(", ")} before it.` : "";
        return listPage(c, { text, mode, results: results.map(asResult), error: { message: `${sentence(r.error.message)}${done}`, problems: problemsOf(r.error, docLabel(doc, i, docs.length)), policy: blockedPolicy(r.error) } }, r.error.status);
      }
      results.push(r.value);
    }
    const changed = results.filter((r) => r.action !== "unchanged");
    if (changed.length) poke(c);
    const summary = results.map((r) => `${r.bot.name}: ${r.action}${r.action === "unchanged" ? "" : ` (revision ${r.revision})`}`).join("; ");
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
    const state = readState(values);
    if (values.go === "back") return wizardPage(c, { step: Math.max(1, step - 1) as WizardStep, state });

    // each step re-checks the earlier ones: the hidden fields came back from the browser
    const taken = listBots(ctx).map((b) => b.name);
    const targetErrors = validateTarget(state, taken, wizardHosts(ctx).map((h) => h.name));
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
    const missing = secretNeeds(state).filter((n) => !state.refs[n.env]);
    if (missing.length) {
      return wizardPage(c, { step: 3, state, form: invalid(Object.fromEntries(missing.map((n) => [`ref_${n.env}`, "pick a stored secret, or enter a value to store a new one"]))) }, 400);
    }
    if (values.go !== "deploy") return wizardPage(c, { step: 4, state });
    const manifest = buildManifest(state, wizardHosts(ctx));
    // create-only: a bot that took the name since step 1 is refused, never updated
    const r = await attempt(() => applyManifest(ctx, manifest, { source: "ui", createOnly: true }));
    if (!r.ok) {
      return wizardPage(c, { step: 4, state, review: { yaml: yaml(manifest), changes: [], error: { message: sentence(r.error.message), problems: problemsOf(r.error, "") }, policy: blockedPolicy(r.error) } }, r.error.status);
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
    return redirectWith(c, `/bots/${name}`, { kind: "ok", text: `${ACTION_DONE[parsed.data.action]} queued for ${name}; the status below follows it.` });
  });

  app.post("/bots/:name/delete", async (c) => {
    const name = nameParam(c, "bot");
    const parsed = parseForm(DeleteForm, await readForm(c));
    if (!parsed.ok) return botPage(c, name, { error: STALE_REQUEST }, 400);
    const purge = parsed.data.purge === "on";
    const r = await attempt(() => deleteBot(ctxOf(c), name, { purge }));
    if (!r.ok) return botPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    poke(c);
    return redirectWith(c, "/bots", { kind: "ok", text: `Deleting ${name}${purge ? " and its data" : " (its data is kept)"}. It disappears from the list when it is gone.` });
  });

  app.get("/bots/:name/diff", (c) => {
    const name = nameParam(c, "bot");
    const ctx = ctxOf(c);
    const from = RevisionNumber.safeParse(c.req.query("from"));
    const to = RevisionNumber.safeParse(c.req.query("to"));
    if (!from.success || !to.success) throw new ServiceError("invalid_request", "pick two revisions to compare");
    const d = diffRevisions(ctx, name, from.data, to.data);
    const revisions = getBot(ctx, name).revisions.map((r) => r.revision);
    return renderPage(c, `r${d.from} → r${d.to} · ${name}`, <DiffPage data={{ name, from: d.from, to: d.to, revisions, config: d.config, manifest: d.manifest }} />);
  });

  app.get("/bots/:name/revisions/:revision", (c) => {
    const name = nameParam(c, "bot");
    const rev = RevisionNumber.safeParse(c.req.param("revision"));
    if (!rev.success) throw new ServiceError("not_found", "no such revision");
    const r = getRevision(ctxOf(c), name, rev.data);
    const data = { name, revision: r.revision, source: r.source, actor: r.actor, createdAt: r.createdAt, configHash: r.configHash, manifestYaml: yaml(r.manifest), configJson: JSON.stringify(r.config, null, 2) };
    return renderPage(c, `r${r.revision} · ${name}`, <RevisionPage data={data} />);
  });

  return app;
}
