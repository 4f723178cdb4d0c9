/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import * as z from "zod";
import { ROLES } from "../../core/context.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { changePassword, confirmTotp, disableTotp, enrollTotp } from "../../services/auth.ts";
import { getSettings, updateSettings } from "../../services/settings.ts";
import { createToken, listTokens, revokeToken } from "../../services/tokens.ts";
import {
  addMember,
  createWorkspace,
  getCurrentWorkspace,
  listMembers,
  listMyWorkspaces,
  removeMember,
  renameWorkspace,
  switchWorkspace,
  updateMemberRole,
} from "../../services/workspaces.ts";
import { attempt, EmptyForm, formFromError, parseForm, readForm, STALE_REQUEST, sentence } from "../forms.ts";
import { redirectWith, renderPage, type WebContext } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { emptyForm, type FormState } from "../ui/components.tsx";
import { AccountPage, type TotpState } from "./account.tsx";
import { isAdmin, SettingsIndexPage } from "./frame.tsx";
import { type MembersData, MembersPage } from "./members.tsx";
import { type TokensData, TokensPage } from "./tokens.tsx";
import { InstancePage, WorkspacePage } from "./workspace.tsx";

const Role = z.enum(ROLES, { error: "pick a role" });
const Id = z.string().min(1).max(100);

const PasswordForm = z
  .strictObject({
    currentPassword: z.string({ error: "enter your current password" }).max(1000),
    newPassword: z.string({ error: "choose a new password" }).max(1000, "at most 1000 characters"),
    confirmPassword: z.string({ error: "repeat the new password" }).max(1000),
  })
  .refine((v) => v.newPassword === v.confirmPassword, { path: ["confirmPassword"], message: "does not match the new password" });

const CodeForm = z.strictObject({
  code: z
    .string({ error: "enter the 6-digit code" })
    .transform((s) => s.replace(/\s/g, ""))
    .pipe(z.string().regex(/^\d{6}$/, "six digits")),
});
const DisableTotpForm = z.strictObject({ password: z.string({ error: "enter your password" }).max(1000) });

const AddMemberForm = z.strictObject({
  email: z.email({ error: "enter a valid email address" }).max(200),
  role: Role,
  name: z.string().trim().max(100, "at most 100 characters").optional(),
  password: z.string().max(1000, "at most 1000 characters").optional(),
});
const RoleForm = z.strictObject({ role: Role });

const TokenForm = z.strictObject({
  name: z.string({ error: "give the token a name" }).trim().min(1, "give the token a name").max(100, "at most 100 characters"),
  role: Role,
  expiresInDays: z
    .union([
      z.literal("never"),
      z.coerce.number({ error: "a number of days" }).int("whole days").min(1, "at least 1 day").max(3650, "at most 3650 days"),
    ])
    .optional(),
});

const RenameForm = z.strictObject({
  name: z.string({ error: "enter a name" }).trim().min(1, "enter a name").max(100, "at most 100 characters"),
});
const CreateWorkspaceForm = z.strictObject({
  name: z.string({ error: "enter a name" }).trim().min(1, "enter a name").max(100, "at most 100 characters"),
  slug: z
    .string()
    .trim()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes, up to 40")
    .optional(),
});
const SwitchForm = z.strictObject({ workspace: z.string({ error: "pick a workspace" }).min(1).max(100) });
const InstanceForm = z.strictObject({
  auditRetentionDays: z.coerce
    .number({ error: "a number of days" })
    .int("whole days")
    .min(0, "0 or more")
    .max(3650, "at most 3650"),
});

function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

// ---------- page builders: each takes the state of its forms, so a failed POST renders the same page ----------

function accountPage(c: WebContext, opts: { password?: FormState; totp?: TotpState } = {}, status = 200) {
  const user = c.get("session")!.user;
  const totp = opts.totp ?? { mode: user.totpEnabled ? "on" : "off", form: emptyForm() };
  return renderPage(
    c,
    "Account · Settings",
    <AccountPage user={user} password={opts.password ?? emptyForm()} totp={totp} />,
    status,
  );
}

function membersPage(c: WebContext, opts: { add?: FormState; rowError?: string } = {}, status = 200) {
  const actor = c.get("actor")!;
  const data: MembersData = {
    members: listMembers(ctxOf(c)),
    role: actor.role,
    userId: actor.userId!,
    add: opts.add ?? emptyForm(),
    rowError: opts.rowError,
  };
  return renderPage(c, "Members · Settings", <MembersPage data={data} />, status);
}

function tokensPage(
  c: WebContext,
  opts: { create?: FormState; created?: TokensData["created"]; rowError?: string } = {},
  status = 200,
) {
  const actor = c.get("actor")!;
  const ctx = ctxOf(c);
  const emails = isAdmin(actor.role) ? Object.fromEntries(listMembers(ctx).map((m) => [m.userId, m.email])) : {};
  const data: TokensData = {
    tokens: listTokens(ctx),
    role: actor.role,
    userId: actor.userId!,
    emails,
    now: c.get("deps").now(),
    create: opts.create ?? emptyForm(),
    created: opts.created,
    rowError: opts.rowError,
  };
  return renderPage(c, "API tokens · Settings", <TokensPage data={data} />, status);
}

function workspacePage(c: WebContext, opts: { rename?: FormState; create?: FormState } = {}, status = 200) {
  const data = {
    workspace: getCurrentWorkspace(ctxOf(c)),
    role: c.get("actor")!.role,
    rename: opts.rename ?? emptyForm(),
    create: opts.create ?? emptyForm(),
  };
  return renderPage(c, "Workspace · Settings", <WorkspacePage data={data} />, status);
}

function instancePage(c: WebContext, form: FormState = emptyForm(), status = 200) {
  const s = getSettings(ctxOf(c));
  const data = { auditRetentionDays: s.auditRetentionDays, role: c.get("actor")!.role, version: c.get("deps").version, form };
  return renderPage(c, "Instance · Settings", <InstancePage data={data} />, status);
}

/** Settings: account, members, API tokens, workspace, instance; plus the workspace switcher's POST. */
export function settingsPages() {
  const app = new Hono<AppEnv>();
  app.use("/settings", signedIn);
  app.use("/settings/*", signedIn);
  app.use("/workspaces/*", signedIn);

  app.get("/settings", (c) => renderPage(c, "Settings", <SettingsIndexPage />));

  // ----- account -----
  app.get("/settings/account", (c) => accountPage(c));

  app.post("/settings/account/password", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(PasswordForm, values);
    if (!parsed.ok) return accountPage(c, { password: parsed.form }, 400);
    const r = await attempt(() => changePassword(ctxOf(c), parsed.data));
    if (!r.ok) return accountPage(c, { password: formFromError(r.error, values) }, r.error.status);
    const { sessionsRevoked, tokensRevoked } = r.value;
    return redirectWith(c, "/settings/account", {
      kind: "ok",
      text: `Password changed. ${plural(sessionsRevoked, "other session was", "other sessions were")} signed out and ${plural(tokensRevoked, "API token was", "API tokens were")} revoked.`,
    });
  });

  app.post("/settings/account/totp", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(EmptyForm, values);
    if (!parsed.ok) return accountPage(c, { totp: { mode: "off", form: parsed.form } }, 400);
    const r = await attempt(() => enrollTotp(ctxOf(c)));
    if (!r.ok)
      return accountPage(
        c,
        { totp: { mode: c.get("session")!.user.totpEnabled ? "on" : "off", form: formFromError(r.error, {}) } },
        r.error.status,
      );
    // the secret is on this response only; never stored in a cookie or a URL
    return accountPage(c, { totp: { mode: "enrol", secret: r.value.secret, uri: r.value.uri, form: emptyForm() } });
  });

  app.post("/settings/account/totp/confirm", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(CodeForm, values);
    if (!parsed.ok) return accountPage(c, { totp: { mode: "confirm", form: parsed.form } }, 400);
    const r = await attempt(() => confirmTotp(ctxOf(c), parsed.data.code));
    if (!r.ok) return accountPage(c, { totp: { mode: "confirm", form: formFromError(r.error, values) } }, r.error.status);
    return redirectWith(c, "/settings/account", {
      kind: "ok",
      text: "Two-step verification is on. Signing in now also asks for a code.",
    });
  });

  app.post("/settings/account/totp/disable", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(DisableTotpForm, values);
    if (!parsed.ok) return accountPage(c, { totp: { mode: "on", form: parsed.form } }, 400);
    const r = await attempt(() => disableTotp(ctxOf(c), parsed.data.password));
    if (!r.ok) return accountPage(c, { totp: { mode: "on", form: formFromError(r.error, values) } }, r.error.status);
    return redirectWith(c, "/settings/account", { kind: "ok", text: "Two-step verification is off." });
  });

  // ----- members -----
  app.get("/settings/members", (c) => membersPage(c));

  app.post("/settings/members", async (c) => {
    const values = await readForm(c);
    const admin = isAdmin(c.get("actor")!.role);
    const parsed = parseForm(AddMemberForm, values);
    if (!parsed.ok) return membersPage(c, { add: parsed.form, rowError: admin ? undefined : parsed.form.message }, 400);
    const r = await attempt(() => addMember(ctxOf(c), parsed.data));
    if (!r.ok) {
      // someone without the add form (a viewer posting by hand) still gets the reason, at the top
      const form = formFromError(r.error, values);
      return membersPage(c, { add: form, rowError: admin ? undefined : form.message }, r.error.status);
    }
    return redirectWith(c, "/settings/members", { kind: "ok", text: `Added ${r.value.email} as ${r.value.role}.` });
  });

  app.post("/settings/members/:userId/role", async (c) => {
    const userId = c.req.param("userId");
    const values = await readForm(c);
    const parsed = parseForm(RoleForm, values);
    if (!parsed.ok || !Id.safeParse(userId).success)
      return membersPage(c, { rowError: "Pick one of the roles and save again." }, 400);
    const r = await attempt(() => updateMemberRole(ctxOf(c), userId, parsed.data.role));
    if (!r.ok) return membersPage(c, { rowError: sentence(r.error.message) }, r.error.status);
    return redirectWith(c, "/settings/members", { kind: "ok", text: `Role changed to ${parsed.data.role}.` });
  });

  app.post("/settings/members/:userId/remove", async (c) => {
    const userId = c.req.param("userId");
    const values = await readForm(c);
    const parsed = parseForm(EmptyForm, values);
    if (!parsed.ok || !Id.safeParse(userId).success) return membersPage(c, { rowError: STALE_REQUEST }, 400);
    const r = await attempt(() => removeMember(ctxOf(c), userId));
    if (!r.ok) return membersPage(c, { rowError: sentence(r.error.message) }, r.error.status);
    if (userId === c.get("actor")!.userId) return redirectWith(c, "/", { kind: "ok", text: "You left the workspace." });
    return redirectWith(c, "/settings/members", {
      kind: "ok",
      text: "Member removed; their API tokens for this workspace are revoked.",
    });
  });

  // ----- API tokens -----
  app.get("/settings/tokens", (c) => tokensPage(c));

  app.post("/settings/tokens", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(TokenForm, values);
    if (!parsed.ok) return tokensPage(c, { create: parsed.form }, 400);
    const { name, role, expiresInDays } = parsed.data;
    const r = await attempt(() =>
      createToken(ctxOf(c), {
        name,
        role,
        expiresInDays: expiresInDays === "never" || expiresInDays === undefined ? null : expiresInDays,
      }),
    );
    if (!r.ok) return tokensPage(c, { create: formFromError(r.error, values) }, r.error.status);
    // Shown on this response only (no redirect: a flash cookie would have to carry the secret).
    return tokensPage(c, { created: { token: r.value.token, name: r.value.item.name }, create: emptyForm() }, 201);
  });

  app.post("/settings/tokens/:id/revoke", async (c) => {
    const id = c.req.param("id");
    const values = await readForm(c);
    if (!parseForm(EmptyForm, values).ok || !Id.safeParse(id).success) return tokensPage(c, { rowError: STALE_REQUEST }, 400);
    const r = await attempt(() => revokeToken(ctxOf(c), id));
    if (!r.ok) return tokensPage(c, { rowError: sentence(r.error.message) }, r.error.status);
    return redirectWith(c, "/settings/tokens", {
      kind: "ok",
      text: "Token revoked. Anything that used it is refused from now on.",
    });
  });

  // ----- workspace -----
  app.get("/settings/workspace", (c) => workspacePage(c));

  app.post("/settings/workspace", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(RenameForm, values);
    if (!parsed.ok) return workspacePage(c, { rename: parsed.form }, 400);
    const r = await attempt(() => renameWorkspace(ctxOf(c), parsed.data));
    if (!r.ok) return workspacePage(c, { rename: formFromError(r.error, values) }, r.error.status);
    return redirectWith(c, "/settings/workspace", { kind: "ok", text: `Workspace renamed to ${parsed.data.name}.` });
  });

  app.post("/settings/workspace/create", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(CreateWorkspaceForm, values);
    if (!parsed.ok) return workspacePage(c, { create: parsed.form }, 400);
    const ctx = ctxOf(c);
    const r = await attempt(() => {
      const ws = createWorkspace(ctx, parsed.data);
      switchWorkspace(ctx, ws.id);
      return ws;
    });
    if (!r.ok) return workspacePage(c, { create: formFromError(r.error, values) }, r.error.status);
    return redirectWith(c, "/settings/workspace", {
      kind: "ok",
      text: `Created the workspace ${r.value.name}. You are its owner, and it is now your current workspace.`,
    });
  });

  app.post("/workspaces/switch", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(SwitchForm, values);
    if (!parsed.ok) return redirectWith(c, "/", { kind: "error", text: "Pick a workspace to switch to." });
    const ctx = ctxOf(c);
    const r = await attempt(() => switchWorkspace(ctx, parsed.data.workspace));
    if (!r.ok) return redirectWith(c, "/", { kind: "error", text: sentence(r.error.message) });
    const ws = listMyWorkspaces(ctx).find((w) => w.id === parsed.data.workspace || w.slug === parsed.data.workspace);
    return redirectWith(c, "/", { kind: "ok", text: `Switched to ${ws?.name ?? "the workspace"}.` });
  });

  // ----- instance -----
  app.get("/settings/instance", (c) => instancePage(c));

  app.post("/settings/instance", async (c) => {
    const values = await readForm(c);
    const parsed = parseForm(InstanceForm, values);
    if (!parsed.ok) return instancePage(c, parsed.form, 400);
    const r = await attempt(() => updateSettings(ctxOf(c), parsed.data));
    if (!r.ok) return instancePage(c, formFromError(r.error, values), r.error.status);
    const pruned = r.value.pruned;
    return redirectWith(c, "/settings/instance", {
      kind: "ok",
      text: `Saved.${pruned ? ` ${plural(pruned, "older audit entry was", "older audit entries were")} pruned behind a signed checkpoint.` : ""}`,
    });
  });

  return app;
}
