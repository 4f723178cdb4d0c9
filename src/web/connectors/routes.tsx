/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import type { ServiceError } from "../../core/errors.ts";
import { isConnectorName } from "../../domain/connectors.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { listBots } from "../../services/bots.ts";
import {
  createConnector,
  deleteConnector,
  getConnector,
  listConnectors,
  listRollouts,
  rotateConnector,
  setBinding,
  testConnector,
  updateConnector,
} from "../../services/connectors.ts";
import {
  attempt,
  EmptyForm,
  formFromError,
  keepValues,
  nameParam,
  parseForm,
  readForm,
  STALE_REQUEST,
  sentence,
} from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { emptyForm, type FormState } from "../ui/components.tsx";
import { ConnectorPage, ConnectorsListPage } from "./page.tsx";

// The forms' own shape; the service checks the values again (and lists every wrong field).
const AddForm = z.strictObject({
  name: z.string({ error: "give the connector a name" }).max(100),
  type: z.string({ error: "pick a type" }).max(40),
  value: z.string().max(65536).optional(),
  appToken: z.string().max(65536).optional(),
  secret: z.string().max(100).optional(),
  baseUrl: z.string().max(500).optional(),
});
const SettingsForm = z.strictObject({ baseUrl: z.string().max(500).optional() });
const RotateForm = z.strictObject({
  value: z.string().max(65536).optional(),
  appToken: z.string().max(65536).optional(),
  confirm: z.literal("yes", { error: "tick the box to confirm the rotation" }),
});
const BotForm = z.strictObject({ bot: z.string({ error: "pick a bot" }).max(63) });
const connectorName = (c: WebContext) => nameParam(c, "connector", isConnectorName);

function poke(c: WebContext): void {
  c.get("deps").runtime?.reconciler.poke();
}

function listPage(c: WebContext, form: FormState = emptyForm(), status = 200) {
  const data = { connectors: listConnectors(ctxOf(c)), role: c.get("actor")!.role, form };
  return renderPage(c, "Connectors", <ConnectorsListPage data={data} />, status);
}

function detailPage(
  c: WebContext,
  name: string,
  opts: { forms?: Partial<{ settings: FormState; rotate: FormState; bind: FormState }>; error?: string } = {},
  status = 200,
) {
  const ctx = ctxOf(c);
  const connector = getConnector(ctx, name);
  const role = c.get("actor")!.role;
  // the blast radius of a rotation, shown before the form (admins only: the dry run needs the admin role)
  const plan =
    connector.secret && (role === "admin" || role === "owner") ? rotateConnector(ctx, name, {}, { dryRun: true }).bots : [];
  const unbound = listBots(ctx)
    .map((b) => b.name)
    .filter((b) => !connector.boundBots.includes(b));
  const data = {
    connector,
    role,
    plan,
    rollouts: listRollouts(ctx, name),
    unbound,
    error: opts.error,
    forms: { settings: emptyForm(), rotate: emptyForm(), bind: emptyForm(), ...opts.forms },
  };
  return renderPage(c, `${name} · Connectors`, <ConnectorPage data={data} />, status);
}

/** A refused form with its message and field errors; secret fields never come back. */
function refused(err: ServiceError, values: Record<string, string>): FormState {
  const f = formFromError(err, values);
  // the service names settings fields by their path
  if (f.errors["settings.baseUrl"]) f.errors.baseUrl = f.errors["settings.baseUrl"];
  if (f.errors["settings.appTokenSecret"]) f.errors.appToken ??= f.errors["settings.appTokenSecret"];
  return f;
}

export function connectorsPages() {
  const app = new Hono<AppEnv>();
  app.use("/connectors", signedIn);
  app.use("/connectors/*", signedIn);

  app.get("/connectors", (c) => listPage(c));

  app.post("/connectors", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(AddForm, values);
    if (!parsed.ok) return listPage(c, parsed.form, 400);
    const f = parsed.data;
    const input = {
      name: f.name,
      type: f.type,
      value: f.value,
      appToken: f.appToken,
      secret: f.secret,
      settings: f.baseUrl ? { baseUrl: f.baseUrl } : undefined,
    };
    const r = await attempt(() => createConnector(ctxOf(c), input));
    if (!r.ok) return listPage(c, refused(r.error, values), r.error.status);
    return redirectWith(c, `/connectors/${r.value.name}`, {
      kind: "ok",
      text: `Added the connector ${r.value.name}. Test it, then bind it to your bots.`,
    });
  });

  app.get("/connectors/:name", (c) => detailPage(c, connectorName(c)));

  app.post("/connectors/:name/test", async (c) => {
    const name = connectorName(c);
    if (!parseForm(EmptyForm, await readForm(c)).ok) return detailPage(c, name, { error: STALE_REQUEST }, 400);
    const r = await attempt(() => testConnector(ctxOf(c), name));
    if (!r.ok) return detailPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    return redirectWith(c, `/connectors/${name}`, {
      kind: r.value.ok ? "ok" : "error",
      text: `Connection test: ${sentence(r.value.message)}`,
    });
  });

  app.post("/connectors/:name/settings", async (c) => {
    const name = connectorName(c);
    const values = await readForm(c);
    const parsed = parseForm(SettingsForm, values);
    if (!parsed.ok) return detailPage(c, name, { forms: { settings: parsed.form } }, 400);
    const r = await attempt(() => updateConnector(ctxOf(c), name, { settings: { baseUrl: parsed.data.baseUrl ?? null } }));
    if (!r.ok) return detailPage(c, name, { forms: { settings: refused(r.error, values) } }, r.error.status);
    const changed = r.value.bots.filter((b) => b.action === "updated").map((b) => b.bot);
    if (changed.length) poke(c);
    return redirectWith(c, `/connectors/${name}`, {
      kind: "ok",
      text: `Saved. ${changed.length ? `New revisions queued for ${changed.join(", ")}.` : "No bot changed."}`,
    });
  });

  app.post("/connectors/:name/rotate", async (c) => {
    const name = connectorName(c);
    const values = await readForm(c);
    const parsed = parseForm(RotateForm, values);
    if (!parsed.ok) return detailPage(c, name, { forms: { rotate: { ...parsed.form, values: keepValues(values) } } }, 400);
    const r = await attempt(() => rotateConnector(ctxOf(c), name, { value: parsed.data.value, appToken: parsed.data.appToken }));
    if (!r.ok) return detailPage(c, name, { forms: { rotate: refused(r.error, values) } }, r.error.status);
    if (r.value.bots.length) poke(c);
    const versions = r.value.secrets.map((s) => `${s.secret} v${s.version}`).join(", ");
    return redirectWith(c, `/connectors/${name}#rollouts-h`, {
      kind: "ok",
      text: `Stored ${versions}. ${r.value.bots.length ? `Rolling out to ${r.value.bots.map((b) => b.bot).join(", ")}; the table below follows it.` : "No bot uses it yet."}`,
    });
  });

  for (const bind of [true, false]) {
    app.post(`/connectors/:name/${bind ? "bind" : "unbind"}`, async (c) => {
      const name = connectorName(c);
      const values = await readForm(c);
      const parsed = parseForm(BotForm, values);
      if (!parsed.ok) return detailPage(c, name, { forms: { bind: parsed.form } }, 400);
      const r = await attempt(() => setBinding(ctxOf(c), parsed.data.bot, name, bind));
      if (!r.ok)
        return detailPage(
          c,
          name,
          bind ? { forms: { bind: refused(r.error, values) } } : { error: sentence(r.error.message) },
          r.error.status,
        );
      if (r.value.action !== "unchanged") poke(c);
      return redirectWith(c, `/connectors/${name}`, {
        kind: "ok",
        text:
          r.value.action === "unchanged"
            ? "Nothing changed."
            : `${bind ? "Bound to" : "Unbound from"} ${parsed.data.bot}: revision ${r.value.revision} queued.`,
      });
    });
  }

  app.post("/connectors/:name/delete", async (c) => {
    const name = connectorName(c);
    if (!parseForm(EmptyForm, await readForm(c)).ok) return detailPage(c, name, { error: STALE_REQUEST }, 400);
    const r = await attempt(() => deleteConnector(ctxOf(c), name));
    if (!r.ok) return detailPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    const kept = r.value.secretsKept.length
      ? ` The secret${r.value.secretsKept.length > 1 ? "s" : ""} ${r.value.secretsKept.join(", ")} stay${r.value.secretsKept.length > 1 ? "" : "s"} in the vault.`
      : "";
    return redirectWith(c, "/connectors", { kind: "ok", text: `Deleted the connector ${name}.${kept}` });
  });

  return app;
}
