/** @jsxImportSource hono/jsx */
import { roleRank, type Role } from "../../src/services/context.ts";
import type { SecretView } from "../../src/services/secrets.ts";
import { Alert, Field, FormMessage, PageHead, Time, type FormState } from "../components.tsx";

export interface SecretsData {
  secrets: SecretView[];
  /** secret name → the bots whose manifest references it */
  usedBy: Record<string, string[]>;
  role: Role | null;
  form: FormState;
  rowError?: string;
}

/** Secrets: names, versions and users only. A value goes in once and is never shown again. */
export function SecretsPage(props: { data: SecretsData }) {
  const d = props.data;
  const operator = roleRank(d.role) >= roleRank("operator");
  const admin = roleRank(d.role) >= roleRank("admin");
  return (
    <>
      <PageHead
        title="Secrets"
        lead="API keys and tokens your bots need, stored encrypted. Values are write-only: nobody can read them back here or over the API; bots get them in a private env file."
      />
      {d.rowError && <Alert kind="error">{d.rowError}</Alert>}
      <div id="secrets-live" hx-get="/secrets" hx-trigger="molthub:changed from:body" hx-select="#secrets-live" hx-swap="outerHTML">
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Secrets</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Version</th>
                <th scope="col">Updated</th>
                <th scope="col">Used by</th>
                {admin && (
                  <th scope="col">
                    <span class="visually-hidden">Actions</span>
                  </th>
                )}
              </tr>
            </thead>
            <tbody>
              {d.secrets.length === 0 && (
                <tr class="empty-row">
                  <td colspan={admin ? 5 : 4}>No secrets yet.{operator ? " Store one below, or while creating a bot." : ""}</td>
                </tr>
              )}
              {d.secrets.map((s) => {
                const users = d.usedBy[s.name] ?? [];
                return (
                  <tr>
                    <td>
                      <code>{s.name}</code>
                    </td>
                    <td>v{s.version}</td>
                    <td>
                      <Time ms={s.updatedAt} />
                    </td>
                    <td>
                      {users.length ? (
                        users.map((b, i) => (
                          <>
                            {i > 0 && ", "}
                            <a href={`/bots/${b}`}>{b}</a>
                          </>
                        ))
                      ) : (
                        <span class="muted">no bot</span>
                      )}
                    </td>
                    {admin && (
                      <td class="actions">
                        <form
                          method="post"
                          action={`/secrets/${s.name}/delete`}
                          data-confirm={
                            users.length
                              ? `Delete ${s.name}? ${users.join(", ")} reference${users.length === 1 ? "s" : ""} it and cannot be reconciled until it exists again.`
                              : `Delete the secret ${s.name}?`
                          }
                        >
                          <button type="submit" class="btn-danger btn-sm">
                            Delete
                          </button>
                        </form>
                      </td>
                    )}
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      </div>

      {operator ? (
        <section class="card section" aria-labelledby="put-h">
          <h2 id="put-h">Store a secret</h2>
          <p class="card-sub">
            A new name creates the secret; an existing name replaces its value (a new version), and bots that use it get the new value on their next
            reconcile. Reference it from a manifest as <code>spec.secrets: {"{ ENV_VAR: { secret: name } }"}</code>.
          </p>
          <FormMessage form={d.form} fields={["name", "value"]} />
          <form method="post" action="/secrets" class="stack" autocomplete="off">
            <div class="form-row">
              <Field
                label="Name"
                name="name"
                form={d.form}
                required
                maxlength={63}
                pattern="[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?"
                autocomplete="off"
                hint="Lowercase letters, digits and dashes, e.g. anthropic-api-key."
              />
              <Field label="Value" name="value" type="password" form={d.form} required maxlength={65536} autocomplete="new-password" hint="Shown to nobody after you save it." />
            </div>
            <div class="form-actions">
              <button type="submit" class="btn-primary">
                Store secret
              </button>
            </div>
          </form>
        </section>
      ) : (
        <p class="muted section">Only operators, admins and owners can store secrets; only admins and owners can delete them.</p>
      )}
    </>
  );
}
