/** @jsxImportSource hono/jsx */
import { type Role, roleRank } from "../../core/context.ts";
import type { SecretView } from "../../services/secrets.ts";
import { Alert, Field, FormMessage, type FormState, PageHead, Time } from "../ui/components.tsx";

export interface SecretsData {
  /** with their users: bots (desired revision) and connectors */
  secrets: SecretView[];
  role: Role | null;
  form: FormState;
  rowError?: string;
}

/** Secrets: names, versions, descriptions and users only. A value goes in once and is never shown again. */
export function SecretsPage(props: { data: SecretsData }) {
  const d = props.data;
  const operator = roleRank(d.role) >= roleRank("operator");
  const admin = roleRank(d.role) >= roleRank("admin");
  return (
    <>
      <PageHead
        title="Secrets"
        lead="API keys and tokens your bots need, stored encrypted (each with its own key, wrapped by the appliance master key). Values are write-only: nobody can read them back here or over the API; bots get them in a private env file."
      />
      {d.rowError && <Alert kind="error">{d.rowError}</Alert>}
      <div
        id="secrets-live"
        hx-get="/secrets"
        hx-trigger="molthub:changed from:body"
        hx-select="#secrets-live"
        hx-swap="outerHTML"
      >
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
                const bots = s.usedBy.bots;
                const connectors = s.usedBy.connectors;
                const inUse = bots.length + connectors.length > 0;
                return (
                  <tr>
                    <td>
                      <code>{s.name}</code>
                      {s.description && <div class="muted secret-description">{s.description}</div>}
                    </td>
                    <td>v{s.version}</td>
                    <td>
                      <Time ms={s.updatedAt} />
                      {s.updatedBy && <div class="muted">by {s.updatedBy}</div>}
                    </td>
                    <td>
                      {inUse ? (
                        <>
                          {bots.map((b, i) => (
                            <>
                              {i > 0 && ", "}
                              <a href={`/bots/${b}`}>{b}</a>
                            </>
                          ))}
                          {connectors.map((cn, i) => (
                            <>
                              {(bots.length > 0 || i > 0) && ", "}
                              <a href="/connectors">connector {cn}</a>
                            </>
                          ))}
                        </>
                      ) : (
                        <span class="muted">nothing</span>
                      )}
                    </td>
                    {admin && (
                      <td class="actions">
                        {inUse ? (
                          <span class="muted" title="Remove the references first">
                            in use
                          </span>
                        ) : (
                          <form
                            method="post"
                            action={`/secrets/${s.name}/delete`}
                            data-confirm={`Delete the secret ${s.name}? Its value cannot be recovered.`}
                          >
                            <button type="submit" class="btn-danger btn-sm">
                              Delete
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

      {operator ? (
        <section class="card section" aria-labelledby="put-h">
          <h2 id="put-h">Store a secret</h2>
          <p class="card-sub">
            A new name creates the secret; an existing name replaces its value (a new version), and bots that use it get the new
            value on their next reconcile. Reference it from a manifest as{" "}
            <code>spec.secrets: {"{ ENV_VAR: { secret: name } }"}</code>. The value is never shown again, here or anywhere else.
          </p>
          <FormMessage form={d.form} fields={["name", "value", "description"]} />
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
              <Field
                label="Value"
                name="value"
                type="password"
                form={d.form}
                required
                maxlength={65536}
                autocomplete="off"
                hint="Shown to nobody after you save it."
              />
            </div>
            <Field
              label="Description"
              name="description"
              form={d.form}
              optional
              maxlength={500}
              autocomplete="off"
              hint="What it is for (kept when left empty on a replace)."
            />
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
