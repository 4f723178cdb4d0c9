/** @jsxImportSource hono/jsx */

import type { Role } from "../../core/context.ts";
import { MIN_PASSWORD } from "../../services/auth.ts";
import type { MemberView } from "../../services/workspaces.ts";
import { Alert, Field, FormMessage, type FormState, ROLE_LABEL, RoleBadge, SelectField, Time } from "../ui/components.tsx";
import { grantable, isAdmin, SettingsFrame } from "./frame.tsx";

/** The Members tab: who belongs to the workspace, with which role; admins add, change and remove. */

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
    <SettingsFrame
      path="/settings/members"
      lead="People in this workspace and their roles. Roles build on each other: viewer, operator, admin, owner."
    >
      {d.rowError && <Alert kind="error">{d.rowError}</Alert>}
      <div
        id="members-live"
        hx-get="/settings/members"
        hx-trigger="molthub:changed from:body"
        hx-select="#members-live"
        hx-swap="outerHTML"
      >
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
                            data-confirm={
                              me
                                ? "Remove yourself from this workspace?"
                                : `Remove ${m.email} from this workspace? Their API tokens for it are revoked.`
                            }
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
          <p class="card-sub">
            Add someone who already has an account by email, or give a name and an initial password to create a local account.
          </p>
          <FormMessage form={d.add} fields={["email", "role", "name", "password"]} />
          <form method="post" action="/settings/members" class="stack">
            <div class="form-row">
              <Field label="Email" name="email" type="email" form={d.add} required autocomplete="off" maxlength={200} />
              <SelectField
                label="Role"
                name="role"
                form={d.add}
                value={d.add.values.role ?? "viewer"}
                options={options.map((r) => ({ value: r, label: ROLE_LABEL[r] }))}
              />
            </div>
            <div class="form-row">
              <Field
                label="Name"
                name="name"
                form={d.add}
                optional
                autocomplete="off"
                maxlength={100}
                hint="For a new account."
              />
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
