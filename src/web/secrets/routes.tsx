/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import { roleRank } from "../../core/context.ts";
import type { ServiceError } from "../../core/errors.ts";
import { NAME_RE } from "../../domain/manifest.ts";
import { redactString } from "../../secrets/redact.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import {
  deleteSecret,
  getSecret,
  listSecrets,
  MAX_DESCRIPTION,
  MAX_SECRET_BYTES,
  putSecret,
  type SecretChange,
  secretRollouts,
} from "../../services/secrets.ts";
import { attempt, EmptyForm, formFromError, nameParam, parseForm, readForm, STALE_REQUEST, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { emptyForm, type FormState } from "../ui/components.tsx";
import { SecretPage, type SecretsData, SecretsPage } from "./page.tsx";

const SecretForm = z.strictObject({
  name: z
    .string({ error: "give the secret a name" })
    .trim()
    .regex(NAME_RE, "lowercase letters, digits and dashes, 1–63 characters"),
  value: z
    .string({ error: "enter the value" })
    .min(1, "enter the value")
    .max(MAX_SECRET_BYTES, `at most ${MAX_SECRET_BYTES} characters`),
  description: z.string().trim().max(MAX_DESCRIPTION, `at most ${MAX_DESCRIPTION} characters`).optional(),
  /** the name of the secret whose restarts were confirmed (a box that confirmed another secret confirms nothing) */
  confirm: z.string().max(63).optional(),
});
const ReplaceForm = z.strictObject({
  value: z
    .string({ error: "enter the new value" })
    .min(1, "enter the new value")
    .max(MAX_SECRET_BYTES, `at most ${MAX_SECRET_BYTES} characters`),
  confirm: z.string().max(63).optional(),
});

function secretsPage(
  c: WebContext,
  opts: { form?: FormState; rowError?: string; confirm?: SecretsData["confirm"] } = {},
  status = 200,
) {
  const data = {
    secrets: listSecrets(ctxOf(c)),
    role: c.get("actor")!.role,
    form: opts.form ?? emptyForm(),
    rowError: opts.rowError,
    confirm: opts.confirm,
  };
  return renderPage(c, "Secrets", <SecretsPage data={data} />, status);
}

function secretPage(c: WebContext, name: string, opts: { form?: FormState } = {}, status = 200) {
  const ctx = ctxOf(c);
  const role = c.get("actor")!.role;
  const secret = getSecret(ctx, name);
  // the blast radius of a new value, shown before the form (the dry run needs the operator role, as the write does)
  const plan = roleRank(role) >= roleRank("operator") ? putSecret(ctx, { name }, { dryRun: true }).rollout : [];
  const data = { secret, role, plan, rollouts: secretRollouts(ctx, name), form: opts.form ?? emptyForm() };
  return renderPage(c, `${name} · Secrets`, <SecretPage data={data} />, status);
}

/** The bots a new value of `name` restarts (none for a new secret, or one only stopped bots use). */
function restarts(c: WebContext, name: string) {
  const plan = putSecret(ctxOf(c), { name }, { dryRun: true }).rollout;
  return { plan, restart: plan.some((p) => p.method === "restart") };
}

/** After a write: the version stored and where it goes. */
function storedText(r: SecretChange): string {
  if (r.version === 1) return `Stored the secret ${r.name}.`;
  const restarting = r.rollout.filter((p) => p.method === "restart").map((p) => p.bot);
  const later = r.rollout.filter((p) => p.method === "next start").map((p) => p.bot);
  return [
    `Replaced the value of ${r.name} (now version ${r.version}).`,
    restarting.length ? `Restarting ${restarting.join(", ")} with it; the rollouts below follow it.` : "",
    later.length ? `${later.join(", ")} get${later.length > 1 ? "" : "s"} it when started.` : "",
    r.rollout.length ? "" : "No bot uses it.",
  ]
    .filter(Boolean)
    .join(" ");
}

/** /secrets: the vault's page. Values are write-only: they are posted once and never rendered. */
export function secretsPages() {
  const app = new Hono<AppEnv>();
  for (const p of ["/secrets", "/secrets/*"]) app.use(p, signedIn);

  app.get("/secrets", (c) => secretsPage(c));

  app.post("/secrets", async (c) => {
    const values = await readForm(c);
    // what the form shows again: never the value, and no known secret value typed into another field
    const shown = { name: redactString(values.name ?? ""), description: redactString(values.description ?? "") };
    const parsed = parseForm(SecretForm, values);
    if (!parsed.ok) return secretsPage(c, { form: { ...parsed.form, values: shown } }, 400);
    const { confirm, ...input } = parsed.data;
    const refused = (e: ServiceError) => {
      const form = formFromError(e, shown);
      const operator = roleRank(c.get("actor")!.role) >= roleRank("operator");
      return secretsPage(c, { form, rowError: operator ? undefined : form.message }, e.status);
    };
    // replacing a value that running bots use restarts them: show which, and store only once that is confirmed
    const preview = await attempt(() => restarts(c, input.name));
    if (!preview.ok) return refused(preview.error);
    if (preview.value.restart && confirm !== input.name) {
      const form = {
        values: shown,
        errors: { confirm: "confirm the restarts" },
        message: `Replacing ${input.name} restarts the bots that use it. Check the list, type the value again and confirm.`,
      };
      return secretsPage(c, { form, confirm: { name: input.name, plan: preview.value.plan } }, 400);
    }
    const r = await attempt(() => putSecret(ctxOf(c), input));
    if (!r.ok) return refused(r.error);
    if (r.value.rollout.some((p) => p.method === "restart")) c.get("deps").runtime?.reconciler.poke();
    return redirectWith(c, r.value.rollout.length ? `/secrets/${r.value.name}#rollouts-h` : "/secrets", {
      kind: "ok",
      text: storedText(r.value),
    });
  });

  app.get("/secrets/:name", (c) => secretPage(c, nameParam(c, "secret")));

  app.post("/secrets/:name", async (c) => {
    const name = nameParam(c, "secret");
    const values = await readForm(c);
    const parsed = parseForm(ReplaceForm, values);
    if (!parsed.ok) return secretPage(c, name, { form: { ...parsed.form, values: {} } }, 400);
    const preview = await attempt(() => restarts(c, name));
    if (!preview.ok) return secretPage(c, name, { form: formFromError(preview.error, {}) }, preview.error.status);
    if (preview.value.plan.length && parsed.data.confirm !== name)
      return secretPage(
        c,
        name,
        {
          form: {
            values: {},
            errors: { confirm: "tick the box to confirm" },
            message: "Confirm the bots that take the new value.",
          },
        },
        400,
      );
    const r = await attempt(() => putSecret(ctxOf(c), { name, value: parsed.data.value }));
    if (!r.ok) return secretPage(c, name, { form: formFromError(r.error, {}) }, r.error.status);
    if (r.value.rollout.some((p) => p.method === "restart")) c.get("deps").runtime?.reconciler.poke();
    return redirectWith(c, `/secrets/${name}#rollouts-h`, { kind: "ok", text: storedText(r.value) });
  });

  app.post("/secrets/:name/delete", async (c) => {
    const name = c.req.param("name");
    const values = await readForm(c);
    if (!parseForm(EmptyForm, values).ok || !NAME_RE.test(name)) return secretsPage(c, { rowError: STALE_REQUEST }, 400);
    const r = await attempt(() => deleteSecret(ctxOf(c), name));
    if (!r.ok) return secretsPage(c, { rowError: sentence(r.error.message) }, r.error.status);
    return redirectWith(c, "/secrets", { kind: "ok", text: `Deleted the secret ${name}.` });
  });

  return app;
}
