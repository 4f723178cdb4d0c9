/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { MIN_PASSWORD } from "../../src/services/auth.ts";
import { ROLES, roleRank, type Role } from "../../src/core/context.ts";
import type { MemberView } from "../../src/services/workspaces.ts";
import type { TokenView } from "../../src/services/tokens.ts";
import { Alert, Field, FormMessage, PageHead, RoleBadge, ROLE_LABEL, SelectField, Time, type FormState } from "../components.tsx";

const TABS = [
  { href: "/settings/account", label: "Account" },
  { href: "/settings/members", label: "Members" },
  { href: "/settings/tokens", label: "API tokens" },
  { href: "/settings/workspace", label: "Workspace" },
  { href: "/settings/instance", label: "Instance" },
];

/** The roles someone may hand out: never above their own. */
export function grantable(mine: Role | null): Role[] {
  return ROLES.filter((r) => roleRank(r) <= roleRank(mine));
}

function roleOptions(mine: Role | null) {
  return grantable(mine).map((r) => ({ value: r, label: ROLE_LABEL[r] }));
}

export function isAdmin(role: Role | null): boolean {
  return roleRank(role) >= roleRank("admin");
}

function SettingsFrame(props: { path: string; lead?: Child; children?: Child }) {
  return (
    <>
      <PageHead title="Settings" lead={props.lead} />
      <nav class="tabs" aria-label="Settings sections">
        {TABS.map((t) => (
          <a href={t.href} aria-current={props.path === t.href ? "page" : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      {props.children}
    </>
  );
}

export function SettingsIndexPage() {
  const items: [string, string, string][] = [
    ["/settings/account", "Account", "Your password and two-step verification."],
    ["/settings/members", "Members", "Who belongs to this workspace, and with which role."],
    ["/settings/tokens", "API tokens", "Tokens for the CLI and automation, bound to this workspace."],
    ["/settings/workspace", "Workspace", "Rename this workspace or create another one."],
    ["/settings/instance", "Instance", "Settings that apply to the whole Molthub, such as audit retention."],
  ];
  return (
    <SettingsFrame path="/settings">
      <div class="stats">
        {items.map(([href, label, text]) => (
          <a class="stat" href={href}>
            <span class="stat-value-sm">{label}</span>
            <span class="stat-note">{text}</span>
          </a>
        ))}
      </div>
    </SettingsFrame>
  );
}

// ---------- account ----------

export type TotpState =
  | { mode: "off" | "on"; form: FormState }
  /** enrolment started: the secret is shown this once */
  | { mode: "enrol"; secret: string; uri: string; form: FormState }
  /** a confirm attempt failed; the secret is not shown again */
  | { mode: "confirm"; form: FormState };

function CopyButton(props: { target: string; label?: string }) {
  // hidden until app.js can make it work: no JavaScript, no button
  return (
    <button type="button" class="btn-sm" data-copy={props.target} hidden>
      {props.label ?? "Copy"}
    </button>
  );
}

function TotpConfirmForm(props: { form: FormState }) {
  return (
    <form method="post" action="/settings/account/totp/confirm" class="stack">
      <FormMessage form={props.form} fields={["code"]} />
      <Field label="Code from your app" name="code" form={props.form} required autocomplete="one-time-code" inputmode="numeric" pattern="[0-9]{6}" maxlength={6} />
      <div class="form-actions">
        <button type="submit" class="btn-primary">
          Turn on two-step verification
        </button>
      </div>
    </form>
  );
}

export function AccountPage(props: { user: { email: string; name: string; totpEnabled: boolean }; password: FormState; totp: TotpState }) {
  const { user, totp } = props;
  return (
    <SettingsFrame path="/settings/account">
      <div class="grid-2">
        <section class="card" aria-labelledby="profile-h">
          <h2 id="profile-h">Profile</h2>
          <dl class="kv">
            <dt>Name</dt>
            <dd>{user.name}</dd>
            <dt>Email</dt>
            <dd>{user.email}</dd>
            <dt>Two-step</dt>
            <dd>{user.totpEnabled ? <span class="badge badge-ok">on</span> : <span class="badge badge-warn">off</span>}</dd>
          </dl>
        </section>

        <section class="card" aria-labelledby="pw-h">
          <h2 id="pw-h">Change password</h2>
          <p class="card-sub">Your other sessions and all your API tokens stop working; this session stays signed in.</p>
          <FormMessage form={props.password} fields={["currentPassword", "newPassword", "confirmPassword"]} />
          <form method="post" action="/settings/account/password" class="stack">
            <Field label="Current password" name="currentPassword" type="password" form={props.password} required autocomplete="current-password" />
            <Field
              label="New password"
              name="newPassword"
              type="password"
              form={props.password}
              required
              autocomplete="new-password"
              minlength={MIN_PASSWORD}
              hint={`At least ${MIN_PASSWORD} characters.`}
            />
            <Field label="Repeat the new password" name="confirmPassword" type="password" form={props.password} required autocomplete="new-password" />
            <div class="form-actions">
              <button type="submit" class="btn-primary">
                Change password
              </button>
            </div>
          </form>
        </section>
      </div>

      <section class="card section" aria-labelledby="totp-h">
        <h2 id="totp-h">Two-step verification</h2>
        {totp.mode === "on" && (
          <>
            <p class="card-sub">On. Signing in asks for a code from your authenticator app after the password.</p>
            <FormMessage form={totp.form} fields={["password"]} />
            <form method="post" action="/settings/account/totp/disable" class="stack" data-confirm="Turn off two-step verification?">
              <Field label="Password" name="password" id="totp-off-password" type="password" form={totp.form} required autocomplete="current-password" hint="Confirm with your password to turn it off." />
              <div class="form-actions">
                <button type="submit" class="btn-danger">
                  Turn off two-step verification
                </button>
              </div>
            </form>
          </>
        )}
        {totp.mode === "off" && (
          <>
            <p class="card-sub">Off. With it on, signing in also needs a 6-digit code from an authenticator app (TOTP).</p>
            <FormMessage form={totp.form} />
            <form method="post" action="/settings/account/totp">
              <button type="submit" class="btn-primary">
                Set up two-step verification
              </button>
            </form>
          </>
        )}
        {totp.mode === "enrol" && (
          <>
            <Alert kind="warn" title="Add this key to your authenticator app now.">
              It is shown only on this page. Enter it by hand, or paste the otpauth link into an app that accepts one.
            </Alert>
            <p class="label">Secret key</p>
            <div class="secret-box">
              <code id="totp-secret">{totp.secret}</code>
              <CopyButton target="totp-secret" />
            </div>
            <p class="label">otpauth link</p>
            <div class="secret-box">
              <code id="totp-uri">{totp.uri}</code>
              <CopyButton target="totp-uri" />
            </div>
            <TotpConfirmForm form={totp.form} />
          </>
        )}
        {totp.mode === "confirm" && (
          <>
            <TotpConfirmForm form={totp.form} />
            <form method="post" action="/settings/account/totp" class="form-actions">
              <span class="muted small">Lost the key?</span>
              <button type="submit" class="btn-sm">
                Start over with a new key
              </button>
            </form>
          </>
        )}
      </section>
    </SettingsFrame>
  );
}

// ---------- members ----------

export interface MembersData {
  members: MemberView[];
  role: Role | null;
  userId: string;
  add: FormState;
  /** a refused change on one row */
  rowError?: string;
}

export function MembersPage(props: { data: MembersData }) {
  const d = props.data;
  const admin = isAdmin(d.role);
  const options = grantable(d.role);
  return (
    <SettingsFrame path="/settings/members" lead="People in this workspace and their roles. Roles build on each other: viewer, operator, admin, owner.">
      {d.rowError && <Alert kind="error">{d.rowError}</Alert>}
      <div id="members-live" hx-get="/settings/members" hx-trigger="molthub:changed from:body" hx-select="#members-live" hx-swap="outerHTML">
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Members</caption>
            <thead>
              <tr>
                <th scope="col">Member</th>
                <th scope="col">Role</th>
                <th scope="col">Two-step</th>
                <th scope="col">Member since</th>
                {admin && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {d.members.map((m) => {
                const canTouch = admin && (m.role !== "owner" || d.role === "owner");
                const me = m.userId === d.userId;
                return (
                  <tr>
                    <td>
                      <div>
                        {m.name}
                        {me && <span class="muted small"> (you)</span>}
                      </div>
                      <div class="muted small">{m.email}</div>
                    </td>
                    <td>
                      {canTouch ? (
                        <form method="post" action={`/settings/members/${m.userId}/role`} class="inline-form">
                          <label class="visually-hidden" for={`role-${m.userId}`}>
                            Role of {m.email}
                          </label>
                          <select id={`role-${m.userId}`} name="role">
                            {options.map((r) => (
                              <option value={r} selected={r === m.role}>
                                {r}
                              </option>
                            ))}
                          </select>
                          <button type="submit" class="btn-sm">
                            Save
                          </button>
                        </form>
                      ) : (
                        <RoleBadge role={m.role} />
                      )}
                    </td>
                    <td>{m.totpEnabled ? <span class="badge badge-ok">on</span> : <span class="badge">off</span>}</td>
                    <td>
                      <Time ms={m.since} date />
                    </td>
                    {admin && (
                      <td class="actions">
                        {canTouch && (
                          <form
                            method="post"
                            action={`/settings/members/${m.userId}/remove`}
                            data-confirm={me ? "Remove yourself from this workspace?" : `Remove ${m.email} from this workspace? Their API tokens for it are revoked.`}
                          >
                            <button type="submit" class="btn-danger btn-sm">
                              {me ? "Leave" : "Remove"}
                            </button>
                          </form>
                        )}
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </div>

      {admin ? (
        <section class="card section" aria-labelledby="add-h" id="add">
          <h2 id="add-h">Add a member</h2>
          <p class="card-sub">Add someone who already has an account by email, or give a name and an initial password to create a local account.</p>
          <FormMessage form={d.add} fields={["email", "role", "name", "password"]} />
          <form method="post" action="/settings/members" class="stack">
            <div class="form-row">
              <Field label="Email" name="email" type="email" form={d.add} required autocomplete="off" maxlength={200} />
              <SelectField label="Role" name="role" form={d.add} value={d.add.values.role ?? "viewer"} options={options.map((r) => ({ value: r, label: ROLE_LABEL[r] }))} />
            </div>
            <div class="form-row">
              <Field label="Name" name="name" form={d.add} optional autocomplete="off" maxlength={100} hint="For a new account." />
              <Field
                label="Initial password"
                name="password"
                type="password"
                form={d.add}
                optional
                autocomplete="new-password"
                hint={`For a new account: at least ${MIN_PASSWORD} characters. Share it privately; they can change it under Account.`}
              />
            </div>
            <div class="form-actions">
              <button type="submit" class="btn-primary">
                Add member
              </button>
            </div>
          </form>
        </section>
      ) : (
        <p class="muted section">Only admins and owners can add members or change roles.</p>
      )}
    </SettingsFrame>
  );
}

// ---------- API tokens ----------

export interface TokensData {
  tokens: TokenView[];
  role: Role | null;
  userId: string;
  /** emails by user id: admins see whose token each one is */
  emails: Record<string, string>;
  now: number;
  create: FormState;
  /** the new token, shown once right after creation */
  created?: { token: string; name: string };
  rowError?: string;
}

function tokenStatus(t: TokenView, now: number) {
  if (t.revokedAt) return <span class="badge badge-danger">revoked</span>;
  if (t.expiresAt !== null && t.expiresAt < now) return <span class="badge badge-warn">expired</span>;
  return <span class="badge badge-ok">active</span>;
}

export const EXPIRY_OPTIONS = [
  { value: "7", label: "7 days" },
  { value: "30", label: "30 days" },
  { value: "90", label: "90 days" },
  { value: "365", label: "1 year" },
  { value: "never", label: "Never" },
];

export function TokensPage(props: { data: TokensData }) {
  const d = props.data;
  const admin = isAdmin(d.role);
  return (
    <SettingsFrame
      path="/settings/tokens"
      lead={
        <>
          API tokens act for you in this workspace with the role you give them, never more than your own. Send one as{" "}
          <code>Authorization: Bearer &lt;token&gt;</code>.
        </>
      }
    >
      {d.created && (
        <section class="card" aria-labelledby="new-token-h">
          <h2 id="new-token-h">Your new token “{d.created.name}”</h2>
          <Alert kind="warn" title="Copy it now: it is shown only once.">
            Molthub keeps only a hash of it. If you lose it, revoke it and create a new one.
          </Alert>
          <div class="secret-box">
            <code id="new-token">{d.created.token}</code>
            <CopyButton target="new-token" />
          </div>
        </section>
      )}
      {d.rowError && <Alert kind="error">{d.rowError}</Alert>}

      <div class="section" id="tokens-live" hx-get="/settings/tokens" hx-trigger="molthub:changed from:body" hx-select="#tokens-live" hx-swap="outerHTML">
        <div class="section-head">
          <h2>{admin ? "Tokens in this workspace" : "Your tokens"}</h2>
        </div>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">API tokens</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Prefix</th>
                <th scope="col">Role</th>
                <th scope="col">Created</th>
                <th scope="col">Expires</th>
                <th scope="col">Last used</th>
                <th scope="col">Status</th>
                <th scope="col">
                  <span class="visually-hidden">Actions</span>
                </th>
              </tr>
            </thead>
            <tbody>
              {d.tokens.length === 0 && (
                <tr class="empty-row">
                  <td colspan={8}>No API tokens yet. Create one below.</td>
                </tr>
              )}
              {d.tokens.map((t) => {
                const live = !t.revokedAt && !(t.expiresAt !== null && t.expiresAt < d.now);
                return (
                  <tr class={t.revokedAt ? "is-revoked" : undefined}>
                    <td>
                      <div class="nowrap">{t.name}</div>
                      {admin && <div class="muted small">{d.emails[t.userId] ?? "former member"}</div>}
                    </td>
                    <td>
                      <code>{t.prefix}…</code>
                    </td>
                    <td>
                      <RoleBadge role={t.role} />
                    </td>
                    <td>
                      <Time ms={t.createdAt} date />
                    </td>
                    <td>
                      <Time ms={t.expiresAt} empty="never" date />
                    </td>
                    <td>
                      <Time ms={t.lastUsedAt} empty="never" date />
                    </td>
                    <td>{tokenStatus(t, d.now)}</td>
                    <td class="actions">
                      {live && (admin || t.userId === d.userId) && (
                        <form method="post" action={`/settings/tokens/${t.id}/revoke`} data-confirm={`Revoke the token “${t.name}”? Anything using it stops working.`}>
                          <button type="submit" class="btn-danger btn-sm">
                            Revoke
                          </button>
                        </form>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </div>

      <section class="card section" aria-labelledby="create-token-h">
        <h2 id="create-token-h">Create a token</h2>
        <FormMessage form={d.create} fields={["name", "role", "expiresInDays"]} />
        <form method="post" action="/settings/tokens" class="stack">
          <div class="form-row">
            <Field label="Name" name="name" form={d.create} required maxlength={100} placeholder="e.g. ci-deploy" hint="What uses it, so you know what breaks when you revoke it." />
            <SelectField label="Role" name="role" form={d.create} value={d.create.values.role ?? "viewer"} options={roleOptions(d.role)} />
            <SelectField label="Expires after" name="expiresInDays" form={d.create} value={d.create.values.expiresInDays ?? "90"} options={EXPIRY_OPTIONS} />
          </div>
          <div class="form-actions">
            <button type="submit" class="btn-primary">
              Create token
            </button>
          </div>
        </form>
      </section>
    </SettingsFrame>
  );
}

// ---------- workspace ----------

export interface WorkspaceData {
  workspace: { name: string; slug: string; createdAt: number };
  role: Role | null;
  rename: FormState;
  create: FormState;
}

export function WorkspacePage(props: { data: WorkspaceData }) {
  const d = props.data;
  const admin = isAdmin(d.role);
  return (
    <SettingsFrame path="/settings/workspace" lead="A workspace holds its own members, tokens, audit log and (later) bots. Switch between yours at the top of the page.">
      <div class="grid-2">
        <section class="card" aria-labelledby="ws-h">
          <h2 id="ws-h">This workspace</h2>
          <dl class="kv">
            <dt>Name</dt>
            <dd>{d.workspace.name}</dd>
            <dt>Slug</dt>
            <dd>
              <code>{d.workspace.slug}</code>
            </dd>
            <dt>Created</dt>
            <dd>
              <Time ms={d.workspace.createdAt} />
            </dd>
            <dt>Your role</dt>
            <dd>
              <RoleBadge role={d.role} />
            </dd>
          </dl>
          {admin && (
            <form method="post" action="/settings/workspace" class="stack section">
              <FormMessage form={d.rename} fields={["name"]} />
              <Field label="New name" name="name" id="rename-name" form={d.rename} value={d.rename.values.name ?? d.workspace.name} required maxlength={100} />
              <div class="form-actions">
                <button type="submit" class="btn-primary">
                  Rename
                </button>
              </div>
            </form>
          )}
        </section>

        {admin ? (
          <section class="card" aria-labelledby="create-h" id="create">
            <h2 id="create-h">Create a workspace</h2>
            <p class="card-sub">You become its owner, and it becomes your current workspace.</p>
            <FormMessage form={d.create} fields={["name", "slug"]} />
            <form method="post" action="/settings/workspace/create" class="stack">
              <Field label="Name" name="name" id="create-name" form={d.create} required maxlength={100} />
              <Field
                label="Slug"
                name="slug"
                id="create-slug"
                form={d.create}
                optional
                maxlength={40}
                pattern="[a-z0-9][a-z0-9\-]{0,39}"
                hint="Lowercase letters, digits and dashes. Made from the name when empty."
              />
              <div class="form-actions">
                <button type="submit" class="btn-primary">
                  Create workspace
                </button>
              </div>
            </form>
          </section>
        ) : (
          <section class="card">
            <h2>Create a workspace</h2>
            <p class="muted">Only admins and owners can rename this workspace or create new ones.</p>
          </section>
        )}
      </div>
    </SettingsFrame>
  );
}

// ---------- instance ----------

export interface InstanceData {
  auditRetentionDays: number;
  role: Role | null;
  version: string;
  form: FormState;
}

export function InstancePage(props: { data: InstanceData }) {
  const d = props.data;
  const owner = d.role === "owner";
  return (
    <SettingsFrame path="/settings/instance" lead="These settings apply to the whole Molthub, across all workspaces.">
      <div class="grid-2">
        <section class="card" aria-labelledby="about-h">
          <h2 id="about-h">About</h2>
          <dl class="kv">
            <dt>Version</dt>
            <dd>{d.version}</dd>
            <dt>Audit retention</dt>
            <dd>{d.auditRetentionDays === 0 ? "keep everything" : `${d.auditRetentionDays} days`}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="retention-h">
          <h2 id="retention-h">Audit retention</h2>
          {owner ? (
            <>
              <FormMessage form={d.form} fields={["auditRetentionDays"]} />
              <form method="post" action="/settings/instance" class="stack" data-confirm="Entries older than the new window are deleted now. Continue?">
                <Field
                  label="Keep audit entries for (days)"
                  name="auditRetentionDays"
                  type="number"
                  form={d.form}
                  value={d.form.values.auditRetentionDays ?? String(d.auditRetentionDays)}
                  min={0}
                  max={3650}
                  step={1}
                  required
                  hint="0 keeps everything. A shorter window deletes older entries now; a signed checkpoint keeps the chain verifiable."
                />
                <div class="form-actions">
                  <button type="submit" class="btn-primary">
                    Save
                  </button>
                </div>
              </form>
            </>
          ) : (
            <p class="muted">Only an owner can change instance settings.</p>
          )}
        </section>
      </div>
    </SettingsFrame>
  );
}
