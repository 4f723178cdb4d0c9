/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import { type Issue, ServiceError } from "../../core/errors.ts";
import { docYaml, exampleDoc, LayerDocError, parseLayerDocs } from "../../domain/layer-docs.ts";
import { NAME_RE } from "../../domain/manifest.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { listBots } from "../../services/bots.ts";
import {
  applyLayer,
  attachProfile,
  deleteLayer,
  detachProfile,
  getLayer,
  type LayerChangeResult,
  listLayers,
  resolvedConfig,
  type StoredKind,
  setOverlayEnabled,
} from "../../services/layers.ts";
import { attempt, EmptyForm, fieldIssues, nameParam, parseForm, readForm, STALE_REQUEST, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import type { ManifestProblem } from "../ui/components.tsx";
import { type EditorState, KIND_TEXT, LayerPage, LayersListPage } from "./page.tsx";
import { ResolvedPage } from "./resolved.tsx";

const MAX_DOCUMENT_CHARS = 256_000;

function poke(c: WebContext, r: { dryRun?: boolean; bots?: unknown[] } = {}): void {
  if (r.dryRun || (r.bots && r.bots.length === 0)) return;
  c.get("deps").runtime?.reconciler.poke();
}

function problemsOf(err: ServiceError | LayerDocError): ManifestProblem[] {
  const out = fieldIssues(err).map((d: Issue) => ({ doc: d.bot ? `bot ${d.bot}` : "", path: d.path, message: d.message }));
  return out.length ? out : [{ doc: "", path: "(document)", message: err.message }];
}

function listPage(c: WebContext, kind: StoredKind, editor: EditorState = { text: "" }, status = 200) {
  const data = { kind, items: listLayers(ctxOf(c), kind), role: c.get("actor")!.role, editor, example: exampleDoc(kind) };
  return renderPage(c, KIND_TEXT[kind].Titles, <LayersListPage data={data} />, status);
}

function detailPage(
  c: WebContext,
  kind: StoredKind,
  name: string,
  opts: { editor?: EditorState; error?: string } = {},
  status = 200,
) {
  const ctx = ctxOf(c);
  const detail = getLayer(ctx, kind, name);
  const attachable =
    kind === "profile"
      ? listBots(ctx)
          .filter((b) => b.status !== "deleting" && !detail.bots.includes(b.name))
          .map((b) => b.name)
      : [];
  const data = {
    detail,
    role: c.get("actor")!.role,
    editor: opts.editor ?? { text: docYaml(detail.document) },
    attachable,
    error: opts.error,
  };
  return renderPage(c, `${name} · ${KIND_TEXT[kind].Titles}`, <LayerPage data={data} />, status);
}

/** The page the editor was on: the layer's own page when it exists, else the list. */
function editorPage(c: WebContext, kind: StoredKind, name: string | undefined, editor: EditorState, status = 200) {
  if (name && NAME_RE.test(name)) {
    try {
      getLayer(ctxOf(c), kind, name);
      return detailPage(c, kind, name, { editor }, status);
    } catch (e) {
      if (!(e instanceof ServiceError) || e.code !== "not_found") throw e;
    }
  }
  return listPage(c, kind, editor, status);
}

function savedText(r: LayerChangeResult): string {
  const t = KIND_TEXT[r.kind];
  if (r.action === "unchanged") return `Nothing changed: the ${t.one} ${r.name} is already stored like this.`;
  const bots = r.bots.length
    ? ` New revisions for ${r.bots.map((b) => `${b.bot} (r${b.revision})`).join(", ")}; the reconciler rolls them out.`
    : " No bot's configuration changed.";
  return `${r.action === "created" ? "Created" : r.action === "deleted" ? "Deleted" : "Saved"} the ${t.one} ${r.name}${r.action === "deleted" ? "" : ` (version ${r.version})`}.${bots}`;
}

const BotForm = z.strictObject({ bot: z.string({ error: "pick a bot" }).regex(NAME_RE, "pick a bot") });

/** Profiles, overlays and the resolved-config view of a bot. */
export function layersPages() {
  const app = new Hono<AppEnv>();
  for (const p of ["/profiles", "/profiles/*", "/overlays", "/overlays/*", "/bots/:name/resolved"]) app.use(p, signedIn);

  app.get("/bots/:name/resolved", (c) => {
    const r = resolvedConfig(ctxOf(c), nameParam(c, "bot"));
    return renderPage(c, `Resolved config · ${r.bot}`, <ResolvedPage data={r} />);
  });

  for (const kind of ["profile", "overlay"] as const) {
    const base = KIND_TEXT[kind].path;

    app.get(base, (c) => listPage(c, kind));

    app.post(`${base}/apply`, async (c) => {
      const values = await readForm(c);
      const text = values.document ?? "";
      const mode = values.mode === "save" ? "save" : "preview";
      const fail = (name: string | undefined, message: string, problems: ManifestProblem[], status: number) =>
        editorPage(c, kind, name, { text, mode, error: { message, problems } }, status);
      if (!text.trim()) return fail(undefined, `Write a ${KIND_TEXT[kind].Title} document first.`, [], 400);
      if (text.length > MAX_DOCUMENT_CHARS)
        return fail(undefined, `The text is longer than ${MAX_DOCUMENT_CHARS} characters.`, [], 400);
      let docs: unknown[];
      try {
        docs = parseLayerDocs(text, "document");
      } catch (e) {
        if (!(e instanceof LayerDocError)) throw e;
        return fail(undefined, sentence(e.message), problemsOf(e), 400);
      }
      if (docs.length !== 1)
        return fail(
          undefined,
          `Write exactly one document here (found ${docs.length}); the CLI applies several at once.`,
          [],
          400,
        );
      const doc = docs[0];
      const docName = (doc as { metadata?: { name?: unknown } } | null)?.metadata?.name;
      const name = typeof docName === "string" ? docName : undefined;
      const r = await attempt(() => applyLayer(ctxOf(c), kind, doc, { dryRun: mode === "preview" }));
      if (!r.ok) return fail(name, sentence(r.error.message), problemsOf(r.error), r.error.status);
      if (mode === "preview") return editorPage(c, kind, name, { text, mode, result: r.value });
      poke(c, r.value);
      return redirectWith(c, `${base}/${r.value.name}`, { kind: "ok", text: savedText(r.value) });
    });

    app.get(`${base}/:name`, (c) => detailPage(c, kind, nameParam(c, kind)));

    app.post(`${base}/:name/delete`, async (c) => {
      const name = nameParam(c, kind);
      if (!parseForm(EmptyForm, await readForm(c)).ok) return detailPage(c, kind, name, { error: STALE_REQUEST }, 400);
      const r = await attempt(() => deleteLayer(ctxOf(c), kind, name));
      if (!r.ok) return detailPage(c, kind, name, { error: sentence(r.error.message) }, r.error.status);
      poke(c, r.value);
      return redirectWith(c, base, { kind: "ok", text: savedText(r.value) });
    });
  }

  for (const verb of ["enable", "disable"] as const) {
    app.post(`/overlays/:name/${verb}`, async (c) => {
      const name = nameParam(c, "overlay");
      if (!parseForm(EmptyForm, await readForm(c)).ok) return detailPage(c, "overlay", name, { error: STALE_REQUEST }, 400);
      const r = await attempt(() => setOverlayEnabled(ctxOf(c), name, verb === "enable"));
      if (!r.ok) return detailPage(c, "overlay", name, { error: sentence(r.error.message) }, r.error.status);
      poke(c, r.value);
      return redirectWith(c, `/overlays/${name}`, {
        kind: "ok",
        text: `${verb === "enable" ? "Enabled" : "Disabled"} ${name}. ${savedText(r.value).replace(/^Saved the overlay [^.]*\. ?/, "")}`,
      });
    });
  }

  for (const verb of ["attach", "detach"] as const) {
    app.post(`/profiles/:name/${verb}`, async (c) => {
      const name = nameParam(c, "profile");
      const parsed = parseForm(BotForm, await readForm(c));
      if (!parsed.ok) return detailPage(c, "profile", name, { error: "Pick a bot and try again." }, 400);
      const bot = parsed.data.bot;
      const r = await attempt(() => (verb === "attach" ? attachProfile : detachProfile)(ctxOf(c), bot, name, { source: "ui" }));
      if (!r.ok) return detailPage(c, "profile", name, { error: sentence(r.error.message) }, r.error.status);
      if (r.value.action !== "unchanged") c.get("deps").runtime?.reconciler.poke();
      return redirectWith(c, `/profiles/${name}`, {
        kind: "ok",
        text: `${verb === "attach" ? "Attached" : "Detached"} ${name} ${verb === "attach" ? "to" : "from"} ${bot}: ${r.value.action === "unchanged" ? "its configuration stays the same" : `revision ${r.value.revision} with ${r.value.changes.length} config change${r.value.changes.length === 1 ? "" : "s"}`}.`,
      });
    });
  }

  return app;
}
