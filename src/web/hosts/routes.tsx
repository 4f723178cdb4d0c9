/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import { hostAccessFor } from "../../hosts/directory.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { addHost, deleteHost, doctorHost, getHost, listHosts, probeHost, trustHost } from "../../services/hosts.ts";
import { attempt, formFromError, nameParam, readForm, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { emptyForm, type FormState } from "../ui/components.tsx";
import { HostPage, HostsListPage } from "./page.tsx";

const access = (c: WebContext) => hostAccessFor(c.get("deps"));

function listPage(c: WebContext, form: FormState = emptyForm(), status = 200) {
  const data = { hosts: listHosts(ctxOf(c)), role: c.get("actor")!.role, form };
  return renderPage(c, "Hosts", <HostsListPage data={data} />, status);
}

function hostPage(c: WebContext, name: string, opts: { error?: string } = {}, status = 200) {
  const g = getHost(ctxOf(c), name);
  const data = {
    host: g.host,
    bots: g.bots,
    events: g.events,
    role: c.get("actor")!.role,
    error: opts.error,
    added: c.req.query("added") === "1",
  };
  return renderPage(c, `${name} · Hosts`, <HostPage data={data} />, status);
}

const AddForm = z.strictObject({
  name: z.string().optional(),
  address: z.string().optional(),
  port: z.string().optional(),
  username: z.string().optional(),
  privateKey: z.string().optional(),
});

export function hostsPages() {
  const app = new Hono<AppEnv>();
  for (const p of ["/hosts", "/hosts/*"]) app.use(p, signedIn);

  app.get("/hosts", (c) => listPage(c));

  app.post("/hosts", async (c) => {
    const values = await readForm(c);
    const shown = {
      name: values.name ?? "",
      address: values.address ?? "",
      port: values.port ?? "",
      username: values.username ?? "",
    };
    const parsed = AddForm.safeParse(values);
    if (!parsed.success)
      return listPage(
        c,
        { values: shown, errors: {}, message: "That form could not be used; reload the page and try again." },
        400,
      );
    const input: Record<string, unknown> = {
      name: values.name ?? "",
      address: values.address ?? "",
      username: values.username ?? "",
    };
    if (values.port) input.port = values.port;
    if (values.privateKey?.trim()) input.privateKey = values.privateKey;
    const r = await attempt(() => addHost(ctxOf(c), input));
    if (!r.ok) return listPage(c, { ...formFromError(r.error, shown), values: shown }, r.error.status);
    const name = r.value.host.name;
    const probed = await attempt(() => probeHost(ctxOf(c), access(c), name));
    return redirectWith(
      c,
      `/hosts/${name}?added=1`,
      probed.ok
        ? { kind: "ok", text: `Added ${name}. Copy the public key to the host, then compare and confirm the fingerprint below.` }
        : { kind: "warn", text: `Added ${name}, but its host key could not be read: ${probed.error.message}` },
    );
  });

  app.get("/hosts/:name", (c) => hostPage(c, nameParam(c, "host")));

  app.post("/hosts/:name/trust", async (c) => {
    const name = nameParam(c, "host");
    const values = await readForm(c);
    const r = await attempt(() => trustHost(ctxOf(c), access(c), name, (values.fingerprint ?? "").trim()));
    if (!r.ok) return hostPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    const h = r.value;
    return redirectWith(
      c,
      `/hosts/${name}`,
      h.status === "ok"
        ? { kind: "ok", text: `Pinned ${h.fingerprint}. Run the doctor to check the host.` }
        : { kind: "warn", text: `Pinned ${h.fingerprint}, but logging in failed: ${h.statusReason}` },
    );
  });

  app.post("/hosts/:name/probe", async (c) => {
    const name = nameParam(c, "host");
    await readForm(c);
    const r = await attempt(() => probeHost(ctxOf(c), access(c), name));
    if (!r.ok) return hostPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    return redirectWith(c, `/hosts/${name}`, {
      kind: "info",
      text: r.value.seenFingerprint ? `The host presents ${r.value.seenFingerprint}.` : "No key read.",
    });
  });

  app.post("/hosts/:name/doctor", async (c) => {
    const name = nameParam(c, "host");
    await readForm(c);
    const r = await attempt(() => doctorHost(ctxOf(c), access(c), name));
    if (!r.ok) return hostPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    const errors = r.value.doctor?.findings.filter((f) => f.level === "error").length ?? 0;
    return redirectWith(
      c,
      `/hosts/${name}`,
      errors
        ? { kind: "warn", text: `Doctor found ${errors} problem${errors > 1 ? "s" : ""}; each says what to do.` }
        : { kind: "ok", text: "Doctor: all checks passed." },
    );
  });

  app.post("/hosts/:name/delete", async (c) => {
    const name = nameParam(c, "host");
    await readForm(c);
    const r = await attempt(() => deleteHost(ctxOf(c), access(c), name));
    if (!r.ok) return hostPage(c, name, { error: sentence(r.error.message) }, r.error.status);
    return redirectWith(c, "/hosts", { kind: "ok", text: `Deleted the host ${name} and its key.` });
  });

  return app;
}
