/** @jsxImportSource hono/jsx */
import type { Role } from "../../core/context.ts";
import type { TokenView } from "../../services/tokens.ts";
import { Alert, CopyButton, Field, FormMessage, type FormState, RoleBadge, SelectField, Time } from "../ui/components.tsx";
import { isAdmin, roleOptions, SettingsFrame } from "./frame.tsx";

/** The API tokens tab: tokens for the CLI and automation; a new one is shown once. */

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

const EXPIRY_OPTIONS = [
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

      <div
        class="section"
        id="tokens-live"
        hx-get="/settings/tokens"
        hx-trigger="molthub:changed from:body"
        hx-select="#tokens-live"
        hx-swap="outerHTML"
      >
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
                        <form
                          method="post"
                          action={`/settings/tokens/${t.id}/revoke`}
                          data-confirm={`Revoke the token “${t.name}”? Anything using it stops working.`}
                        >
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
            <Field
              label="Name"
              name="name"
              form={d.create}
              required
              maxlength={100}
              placeholder="e.g. ci-deploy"
              hint="What uses it, so you know what breaks when you revoke it."
            />
            <SelectField
              label="Role"
              name="role"
              form={d.create}
              value={d.create.values.role ?? "viewer"}
              options={roleOptions(d.role)}
            />
            <SelectField
              label="Expires after"
              name="expiresInDays"
              form={d.create}
              value={d.create.values.expiresInDays ?? "90"}
              options={EXPIRY_OPTIONS}
            />
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
