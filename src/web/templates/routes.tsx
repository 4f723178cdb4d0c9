/** @jsxImportSource hono/jsx */

import { Hono } from "hono";
import { stringify as toYaml } from "yaml";
import { providerForInit } from "../../../providers/registry.ts";
import type { ServiceContext } from "../../core/context.ts";
import type { ServiceError } from "../../core/errors.ts";
import { NAME_RE } from "../../domain/manifest.ts";
import { parseTemplates, TemplateError, targetFor } from "../../domain/templates/index.ts";
import { DEFAULT_OPENCLAW_VERSION } from "../../domain/templates/render.ts";
import { type TargetHost, targetableHosts } from "../../domain/wizard.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { listHosts } from "../../services/hosts.ts";
import { listSecrets, putSecret } from "../../services/secrets.ts";
import { createBotFromTemplate, deleteTemplate, getTemplate, listTemplates, putTemplate } from "../../services/templates.ts";
import { attempt, nameParam, readForm, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { emptyForm, type FormState, type ManifestProblem } from "../ui/components.tsx";
import {
  type EditorData,
  TEMPLATE_EXAMPLE,
  TemplateEditorPage,
  TemplatePage,
  type TemplatePageData,
  TemplatesListPage,
} from "./page.tsx";

const MAX_TEMPLATE_CHARS = 128_000;
const LABEL_KEY_RE = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/i;

function yaml(v: unknown): string {
  return toYaml(v, { lineWidth: 0 });
}

function problemsOf(err: ServiceError | TemplateError): ManifestProblem[] {
  // a template's refusal lists policy findings as problems too: the template page has no policy panel
  const out = err.issues.map((d) => ({ doc: "", path: d.path, message: d.message }));
  return out.length ? out : [{ doc: "", path: "(document)", message: err.message }];
}

function templatePage(
  c: WebContext,
  name: string,
  opts: { form?: FormState; problems?: ManifestProblem[]; preview?: TemplatePageData["preview"] } = {},
  status = 200,
) {
  const ctx = ctxOf(c);
  const g = getTemplate(ctx, name);
  const target = targetFor(g.template);
  const data: TemplatePageData = {
    t: g,
    role: c.get("actor")!.role,
    valuesYaml: yaml(g.template.spec.openclaw),
    secretsYaml: Object.keys(g.template.spec.secrets).length ? yaml(g.template.spec.secrets) : "",
    targetText: target.provider === "docker" ? `docker, ${String(target.image)}` : `local, OpenClaw ${String(target.version)}`,
    secrets: listSecrets(ctx).map((s) => s.name),
    hosts: hostTargetsOf(ctx),
    form: opts.form ?? emptyForm(),
    problems: opts.problems,
    preview: opts.preview,
  };
  return renderPage(c, `${g.title} · Templates`, <TemplatePage data={data} />, status);
}

/** Registered hosts a bot can run on: their key is confirmed and has not changed since. */
function hostTargetsOf(ctx: ServiceContext): TargetHost[] {
  return targetableHosts(listHosts(ctx));
}

function editorPage(c: WebContext, data: Omit<EditorData, "role">, status = 200) {
  return renderPage(
    c,
    `${data.name ? `Edit ${data.name}` : "New template"} · Templates`,
    <TemplateEditorPage data={{ ...data, role: c.get("actor")!.role }} />,
    status,
  );
}

function parseLabels(text: string): { labels: Record<string, string>; error?: string } {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(/[,\n]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return { labels, error: `"${part.slice(0, 40)}" is not key=value` };
    const k = part.slice(0, eq).trim();
    if (!LABEL_KEY_RE.test(k)) return { labels, error: `the key "${k.slice(0, 40)}" may only use letters, digits and . _ / -` };
    labels[k] = part.slice(eq + 1).trim();
  }
  return { labels };
}

/** Where an API path from the service lands on the form. */
function fieldFor(path: string): string | undefined {
  const m = /^(?:spec\.template\.)?inputs\.([A-Za-z][A-Za-z0-9_]*)/.exec(path);
  if (m) return `in_${m[1]}`;
  if (path === "metadata.name") return "bot_name";
  if (path === "metadata.fleet") return "fleet";
  if (path === "metadata.environment") return "environment";
  if (path.startsWith("metadata.labels")) return "labels";
  if (path === "spec.target.version") return "version";
  if (path === "spec.target.image") return "image";
  if (path.startsWith("spec.target")) return "provider";
  return undefined;
}

/** Templates: list, one template with the create-a-bot form, and the editor for user templates. */
export function templatesPages() {
  const app = new Hono<AppEnv>();
  for (const p of ["/templates", "/templates/*"]) app.use(p, signedIn);

  app.get("/templates", (c) =>
    renderPage(c, "Templates", <TemplatesListPage data={{ templates: listTemplates(ctxOf(c)), role: c.get("actor")!.role }} />),
  );

  // ----- the editor (before /templates/:name, so "new" is not read as a name) -----
  app.get("/templates/new", (c) =>
    editorPage(c, {
      text: c.req.query("from") && NAME_RE.test(c.req.query("from")!) ? copyOf(c, c.req.query("from")!) : TEMPLATE_EXAMPLE,
    }),
  );

  function copyOf(c: WebContext, from: string): string {
    const r = (() => {
      try {
        return getTemplate(ctxOf(c), from).template;
      } catch {
        return undefined;
      }
    })();
    if (!r) return TEMPLATE_EXAMPLE;
    return yaml({
      ...r,
      metadata: { ...r.metadata, name: `my-${from}`.slice(0, 63).replace(/-+$/, ""), title: `${r.metadata.title} (copy)` },
    });
  }

  app.post("/templates/editor", async (c) => {
    const values = await readForm(c);
    const text = values.text ?? "";
    const original = values.original && NAME_RE.test(values.original) ? values.original : undefined;
    const mode = values.mode === "save" ? "save" : "preview";
    const fail = (message: string, problems: ManifestProblem[], status: number) =>
      editorPage(c, { name: original, text, message, problems }, status);
    if (!text.trim()) return fail("Write the template first.", [], 400);
    if (text.length > MAX_TEMPLATE_CHARS) return fail(`The text is longer than ${MAX_TEMPLATE_CHARS} characters.`, [], 400);
    let docs: unknown[];
    try {
      docs = parseTemplates(text, "template");
    } catch (e) {
      if (!(e instanceof TemplateError)) throw e;
      return fail(sentence(e.message), problemsOf(e), 400);
    }
    if (docs.length !== 1)
      return fail("The editor takes exactly one template; use the CLI (`molthub template apply -f`) for several.", [], 400);
    const doc = docs[0];
    const docName = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
    if (original && docName !== original) {
      return fail(
        `This page edits ${original}; to save under another name, create a new template.`,
        [{ doc: "", path: "metadata.name", message: `expected ${original}` }],
        400,
      );
    }
    const r = await attempt(() => putTemplate(ctxOf(c), doc, { dryRun: mode === "preview" }));
    if (!r.ok) return fail(sentence(r.error.message), problemsOf(r.error), r.error.status);
    if (mode === "preview")
      return editorPage(c, {
        name: original,
        text,
        preview: { action: r.value.action, version: r.value.version, blast: r.value.blast },
      });
    if (r.value.blast.some((b) => b.action === "updated")) c.get("deps").runtime?.reconciler.poke();
    const updated = r.value.blast.filter((b) => b.action === "updated").map((b) => `${b.bot} (revision ${b.revision})`);
    return redirectWith(c, `/templates/${r.value.template.name}`, {
      kind: "ok",
      text:
        r.value.action === "unchanged"
          ? "Nothing changed."
          : `Saved ${r.value.template.name} version ${r.value.version}.${updated.length ? ` New revisions: ${updated.join(", ")}.` : ""}`,
    });
  });

  // ----- one template -----
  app.get("/templates/:name", (c) => templatePage(c, nameParam(c, "template")));

  app.get("/templates/:name/edit", (c) => {
    const name = nameParam(c, "template");
    const g = getTemplate(ctxOf(c), name);
    if (g.builtin)
      return redirectWith(c, `/templates/new?from=${name}`, {
        kind: "info",
        text: `${name} is built in and read-only; here is a copy to save under your own name.`,
      });
    return editorPage(c, { name, text: yaml(g.template) });
  });

  app.post("/templates/:name/bots", async (c) => {
    const name = nameParam(c, "template");
    const ctx = ctxOf(c);
    const values = await readForm(c);
    const g = getTemplate(ctx, name);
    // what the form shows again: everything but typed secret values
    const shown: Record<string, string> = {};
    for (const [k, v] of Object.entries(values)) if (!k.startsWith("value_")) shown[k] = v;
    const errors: Record<string, string> = {};
    const invalid = (status = 400) =>
      templatePage(c, name, { form: { values: shown, errors, message: "Some fields need attention." } }, status);

    const botName = (values.bot_name ?? "").trim();
    if (!NAME_RE.test(botName)) errors.bot_name = "lowercase letters, digits and dashes, 1–63 characters";
    const labels = parseLabels(values.labels ?? "");
    if (labels.error) errors.labels = labels.error;
    const provider = values.provider ?? "";
    const hostTargets = hostTargetsOf(ctx);
    const onHost = provider.startsWith("host:") ? hostTargets.find((h) => `host:${h.name}` === provider) : undefined;
    if (provider !== "" && provider !== "local" && provider !== "docker" && !onHost) errors.provider = "pick where the bot runs";
    if (Object.keys(errors).length) return invalid();

    // secret inputs: a typed value is stored first (write-only), then the bot names it
    const inputs: Record<string, string> = {};
    for (const i of g.inputs) {
      const v = (values[`in_${i.name}`] ?? "").trim();
      if (i.type !== "secret") {
        if (v !== "") inputs[i.name] = v;
        continue;
      }
      const secretValue = values[`value_${i.name}`] ?? "";
      if (secretValue !== "") {
        const newName = (values[`newname_${i.name}`] ?? "").trim();
        if (!NAME_RE.test(newName)) {
          errors[`newname_${i.name}`] = "give the new secret a name: lowercase letters, digits and dashes";
          continue;
        }
        const stored = await attempt(() => putSecret(ctx, { name: newName, value: secretValue }));
        if (!stored.ok) {
          errors[`value_${i.name}`] = sentence(stored.error.message);
          continue;
        }
        inputs[i.name] = newName;
        shown[`in_${i.name}`] = newName;
        delete shown[`newname_${i.name}`];
      } else if (v !== "") inputs[i.name] = v;
    }
    if (Object.keys(errors).length) return invalid();

    const target: Record<string, string> = {};
    if (onHost)
      Object.assign(target, { provider: providerForInit(onHost.init), host: onHost.name, version: DEFAULT_OPENCLAW_VERSION });
    else if (provider) target.provider = provider;
    if ((values.version ?? "").trim() && provider !== "docker") target.version = values.version!.trim();
    if ((values.image ?? "").trim() && provider === "docker") target.image = values.image!.trim();
    const preview = values.mode === "preview";
    const r = await attempt(() =>
      createBotFromTemplate(
        ctx,
        name,
        {
          name: botName,
          inputs,
          target,
          fleet: (values.fleet ?? "").trim() || undefined,
          environment: (values.environment ?? "").trim() || undefined,
          labels: labels.labels,
        },
        { dryRun: preview, source: "ui" },
      ),
    );
    if (!r.ok) {
      const problems = problemsOf(r.error);
      for (const p of problems) {
        const f = fieldFor(p.path);
        if (f) errors[f] ??= p.message;
      }
      return templatePage(
        c,
        name,
        { form: { values: shown, errors, message: sentence(r.error.message) }, problems },
        r.error.status,
      );
    }
    if (preview) return templatePage(c, name, { form: { values: shown, errors: {} }, preview: { changes: r.value.changes } });
    c.get("deps").runtime?.reconciler.poke();
    return redirectWith(c, `/bots/${botName}`, {
      kind: "ok",
      text: `Created ${botName} from the template ${name} (revision ${r.value.revision}). Molthub is deploying it now.`,
    });
  });

  app.post("/templates/:name/delete", async (c) => {
    const name = nameParam(c, "template");
    await readForm(c);
    const r = await attempt(() => deleteTemplate(ctxOf(c), name));
    if (!r.ok) return redirectWith(c, `/templates/${name}`, { kind: "error", text: sentence(r.error.message) });
    return redirectWith(c, "/templates", { kind: "ok", text: `Deleted the template ${name}.` });
  });

  return app;
}
