/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import { authorize } from "../../core/context.ts";
import { ServiceError } from "../../core/errors.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { listBots } from "../../services/bots.ts";
import {
  type BotFindings,
  createException,
  deletePack,
  getPack,
  knownRuleIds,
  listExceptions,
  listPacks,
  putPack,
  revokeException,
  setPackState,
} from "../../services/policies.ts";
import { attempt, EmptyForm, fieldIssues, formFromError, parseForm, readForm, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { emptyForm, type FormState } from "../ui/components.tsx";
import { type EditorState, PackPage, PoliciesPage } from "./page.tsx";

const PACK_ID_RE = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;
const MAX_PACK_CHARS = 128_000;

const PackForm = z.strictObject({
  pack: z.string({ error: "paste a pack" }).max(MAX_PACK_CHARS, `at most ${MAX_PACK_CHARS} characters`),
  mode: z.enum(["preview", "save"]).optional(),
});
const ModeForm = z.strictObject({ mode: z.enum(["enforce", "advisory"]).optional() });
const ExceptionForm = z.strictObject({
  ruleId: z.string().max(100).optional(),
  botName: z.string().max(63).optional(),
  reason: z.string().max(2000).optional(),
  expiresAt: z.string().max(64).optional(),
});

function packId(c: WebContext): string {
  const id = c.req.param("id") ?? "";
  if (!PACK_ID_RE.test(id)) throw new ServiceError("not_found", `no policy pack ${id.slice(0, 80)}`);
  return id;
}

function summary(violating: BotFindings[]): string {
  const blocked = violating.filter((f) => f.blocked).map((f) => f.bot);
  if (!violating.length) return "No bot violates a policy now.";
  return `${violating.length} bot${violating.length === 1 ? "" : "s"} with findings${blocked.length ? `; blocked (not applied until fixed or excepted): ${blocked.join(", ")}` : ""}.`;
}

function editorError(err: ServiceError, text: string): EditorState {
  const problems = fieldIssues(err).map((d) => ({ path: d.path, message: d.message }));
  const message = problems.length > 1 ? `The pack has ${problems.length} problems; nothing was saved.` : sentence(err.message);
  return { text, error: { message, problems } };
}

function listPage(
  c: WebContext,
  opts: { editor?: EditorState; exceptionForm?: FormState; preview?: { action: string; violating: BotFindings[] } } = {},
  status = 200,
) {
  const ctx = ctxOf(c);
  authorize(ctx, "viewer");
  const data = {
    packs: listPacks(ctx).items,
    exceptions: listExceptions(ctx).items,
    role: c.get("actor")!.role,
    editor: opts.editor ?? { text: "" },
    exceptionForm: opts.exceptionForm ?? emptyForm(),
    preview: opts.preview,
    ruleIds: knownRuleIds(ctx),
    // a bot being deleted takes no new exception
    bots: listBots(ctx)
      .filter((b) => b.status !== "deleting")
      .map((b) => b.name),
  };
  return renderPage(c, "Policies", <PoliciesPage data={data} />, status);
}

function packPage(c: WebContext, id: string, opts: { editor?: EditorState } = {}, status = 200) {
  const pack = getPack(ctxOf(c), id);
  const data = { pack, role: c.get("actor")!.role, editor: opts.editor ?? { text: pack.builtin ? "" : pack.yaml } };
  return renderPage(c, `${pack.name} · Policies`, <PackPage data={data} />, status);
}

/** Policy packs (list, detail, custom pack editor, mode toggles) and exceptions. */
export function policiesPages() {
  const app = new Hono<AppEnv>();
  for (const p of ["/policies", "/policies/*"]) app.use(p, signedIn);

  app.get("/policies", (c) => listPage(c));

  app.post("/policies", async (c) => {
    const values = await readForm(c);
    const text = values.pack ?? "";
    const parsed = parseForm(PackForm, values);
    if (!parsed.ok || !text.trim())
      return listPage(
        c,
        {
          editor: { text: text.slice(0, MAX_PACK_CHARS), error: { message: "Paste a pack (YAML or JSON) first.", problems: [] } },
        },
        400,
      );
    const preview = parsed.data.mode === "preview";
    const r = await attempt(() => putPack(ctxOf(c), text, { dryRun: preview }));
    if (!r.ok) {
      return listPage(c, { editor: editorError(r.error, text) }, r.error.status);
    }
    if (preview) return listPage(c, { editor: { text }, preview: { action: r.value.action, violating: r.value.violating } });
    const id = r.value.pack!.id;
    return redirectWith(c, `/policies/${id}`, {
      kind: r.value.violating.some((f) => f.blocked) ? "warn" : "ok",
      text: `Pack ${id} ${r.value.action}. ${summary(r.value.violating)}`,
    });
  });

  // exceptions (before /policies/:id so "exceptions" is not read as a pack id)
  app.post("/policies/exceptions", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(ExceptionForm, values);
    if (!parsed.ok) return listPage(c, { exceptionForm: parsed.form }, 400);
    const r = await attempt(() => createException(ctxOf(c), parsed.data));
    if (!r.ok) return listPage(c, { exceptionForm: formFromError(r.error, values) }, r.error.status);
    const e = r.value.exception;
    return redirectWith(c, "/policies#exceptions", {
      kind: "ok",
      text: `Exception created: ${e.ruleId} is waived for ${e.botName ?? "every bot"} until ${new Date(e.expiresAt).toISOString().slice(0, 16).replace("T", " ")} UTC. ${summary(r.value.violating)}`,
    });
  });

  app.post("/policies/exceptions/:eid/revoke", async (c) => {
    const values = await readForm(c);
    if (!parseForm(EmptyForm, values).ok)
      throw new ServiceError("invalid_request", "that request could not be used; reload the page and try again");
    const r = revokeException(ctxOf(c), c.req.param("eid").slice(0, 100));
    return redirectWith(c, "/policies#exceptions", {
      kind: r.violating.some((f) => f.blocked) ? "warn" : "ok",
      text: `Exception for ${r.exception.ruleId} revoked; the rule applies again. ${summary(r.violating)}`,
    });
  });

  app.get("/policies/:id", (c) => packPage(c, packId(c)));

  for (const verb of ["enable", "disable"] as const) {
    app.post(`/policies/:id/${verb}`, async (c) => {
      const id = packId(c);
      const parsed = parseForm(verb === "enable" ? ModeForm : EmptyForm, await readForm(c));
      if (!parsed.ok) throw new ServiceError("invalid_request", "pick enforce or advisory");
      const r = setPackState(ctxOf(c), id, {
        enabled: verb === "enable",
        mode: (parsed.data as { mode?: "enforce" | "advisory" }).mode,
      });
      const back = c.req.header("referer")?.includes(`/policies/${id}`) ? `/policies/${id}` : "/policies";
      return redirectWith(c, back, {
        kind: r.violating.some((f) => f.blocked) ? "warn" : "ok",
        text: `${r.pack!.name} ${verb === "enable" ? `is on (${r.pack!.mode})` : "is off"}. ${summary(r.violating)}`,
      });
    });
  }

  app.post("/policies/:id/delete", async (c) => {
    const id = packId(c);
    if (!parseForm(EmptyForm, await readForm(c)).ok)
      throw new ServiceError("invalid_request", "that request could not be used; reload the page and try again");
    const r = deletePack(ctxOf(c), id);
    return redirectWith(c, "/policies", { kind: "ok", text: `Pack ${id} deleted. ${summary(r.violating)}` });
  });

  return app;
}
