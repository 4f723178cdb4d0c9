/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import { roleRank } from "../../core/context.ts";
import { NAME_RE } from "../../domain/manifest.ts";
import { redactString } from "../../secrets/redact.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { deleteSecret, listSecrets, MAX_DESCRIPTION, MAX_SECRET_BYTES, putSecret } from "../../services/secrets.ts";
import { attempt, EmptyForm, parseForm, readForm, STALE_REQUEST, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { emptyForm, type FormState } from "../ui/components.tsx";
import { SecretsPage } from "./page.tsx";

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
});

function secretsPage(c: WebContext, opts: { form?: FormState; rowError?: string } = {}, status = 200) {
  const data = {
    secrets: listSecrets(ctxOf(c)),
    role: c.get("actor")!.role,
    form: opts.form ?? emptyForm(),
    rowError: opts.rowError,
  };
  return renderPage(c, "Secrets", <SecretsPage data={data} />, status);
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
    const r = await attempt(() => putSecret(ctxOf(c), parsed.data));
    if (!r.ok) {
      const form = { values: shown, errors: {}, message: sentence(r.error.message) };
      const operator = roleRank(c.get("actor")!.role) >= roleRank("operator");
      return secretsPage(c, { form, rowError: operator ? undefined : form.message }, r.error.status);
    }
    const users = r.value.usedBy.bots.length;
    return redirectWith(c, "/secrets", {
      kind: "ok",
      text:
        r.value.version === 1
          ? `Stored the secret ${r.value.name}.`
          : `Replaced the value of ${r.value.name} (now version ${r.value.version}).${users ? ` The ${users} bot${users > 1 ? "s" : ""} that use it get it on their next reconcile.` : " Bots that use it get it on their next reconcile."}`,
    });
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
