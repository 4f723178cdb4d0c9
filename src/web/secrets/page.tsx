/** @jsxImportSource hono/jsx */
import { type Role, roleRank } from "../../core/context.ts";
import type { RolloutPlanEntry, RolloutView, SecretView } from "../../services/secrets.ts";
import { Alert, Crumbs, Field, FormMessage, type FormState, PageHead, Time } from "../ui/components.tsx";

export interface SecretsData {
  /** with their users: bots (desired revision) and connectors */
  secrets: SecretView[];
  role: Role | null;
  form: FormState;
  rowError?: string;
  /**
   * A replace from the store form that would restart bots: the blast radius shown with the form again, to be
   * confirmed (the value is typed again; it is never sent back)
   */
  confirm?: { name: string; plan: RolloutPlanEntry[] };
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
                      <a href={`/secrets/${s.name}`}>
                        <code>{s.name}</code>
                      </a>
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
            A new name creates the secret; an existing name replaces its value (a new version) and rolls it out: running bots that
            use it restart with it (open a secret to see which first). Reference it from a manifest as{" "}
            <code>spec.secrets: {"{ ENV_VAR: { secret: name } }"}</code>. One line; the value is never shown again, here or
            anywhere else.
          </p>
          <FormMessage form={d.form} fields={["name", "value", "description", "confirm"]} />
          {d.confirm && (
            <Alert kind="warn" title={`Replacing ${d.confirm.name} restarts bots`}>
              <RolloutPlanTable plan={d.confirm.plan} />
              <p>Type the value again and tick the box to replace it.</p>
            </Alert>
          )}
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
            {d.confirm && <ConfirmBox name={d.confirm.name} plan={d.confirm.plan} />}
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

/** The blast radius of a new version: each bot that takes it, through which env vars, and how. */
function RolloutPlanTable(props: { plan: RolloutPlanEntry[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Bots that take the new value</caption>
        <thead>
          <tr>
            <th scope="col">Bot</th>
            <th scope="col">Env vars</th>
            <th scope="col">How</th>
          </tr>
        </thead>
        <tbody>
          {props.plan.map((p) => (
            <tr>
              <td>
                <a href={`/bots/${p.bot}`}>{p.bot}</a>
                {p.bound && <span class="muted small"> (through a connector)</span>}
              </td>
              <td>{p.env.join(", ")}</td>
              <td>{p.method === "restart" ? "restarts with it" : "gets it when it starts"}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

/** The box that confirms the restarts; its value names the secret, so it cannot confirm another one. */
function ConfirmBox(props: { name: string; plan: RolloutPlanEntry[] }) {
  const restarts = props.plan.filter((p) => p.method === "restart").map((p) => p.bot);
  return (
    <div class="field">
      <label class="check" for="f-confirm">
        <input id="f-confirm" type="checkbox" name="confirm" value={props.name} required />{" "}
        {restarts.length
          ? `I understand that ${restarts.join(", ")} restart${restarts.length > 1 ? "" : "s"} with the new value`
          : `Replace the value of ${props.name}`}
      </label>
    </div>
  );
}

function RolloutBadge(props: { state: RolloutView["state"] }) {
  const kind = props.state === "delivered" ? "badge-ok" : props.state === "failed" ? "badge-danger" : "badge-info badge-busy";
  return <span class={`badge ${kind}`}>{props.state}</span>;
}

export interface SecretDetailData {
  secret: SecretView;
  role: Role | null;
  /** who takes a new value: the preview shown before the replace form (the same list the write then uses) */
  plan: RolloutPlanEntry[];
  rollouts: RolloutView[];
  form: FormState;
}

/** One secret: its metadata and users, replacing its value (blast radius first), and the rollout per bot. */
export function SecretPage(props: { data: SecretDetailData }) {
  const d = props.data;
  const s = d.secret;
  const operator = roleRank(d.role) >= roleRank("operator");
  const restarts = d.plan.filter((p) => p.method === "restart").map((p) => p.bot);
  return (
    <>
      <Crumbs trail={[{ href: "/secrets", label: "Secrets" }]} here={s.name} />
      <PageHead title={s.name} lead={s.description || "A secret in the vault. Its value is write-only."} />

      <section class="card section" aria-labelledby="about-h">
        <h2 id="about-h">Version</h2>
        <dl class="kv">
          <dt>Current</dt>
          <dd>
            v{s.version}, <Time ms={s.updatedAt} />
            {s.updatedBy && <span class="muted"> by {s.updatedBy}</span>}
          </dd>
          <dt>Used by</dt>
          <dd>
            {s.usedBy.bots.length + s.usedBy.connectors.length === 0 && <span class="muted">nothing</span>}
            {s.usedBy.bots.map((b, i) => (
              <>
                {i > 0 && ", "}
                <a href={`/bots/${b}`}>{b}</a>
              </>
            ))}
            {s.usedBy.connectors.map((cn, i) => (
              <>
                {(s.usedBy.bots.length > 0 || i > 0) && ", "}
                <a href={`/connectors/${cn}`}>connector {cn}</a>
              </>
            ))}
          </dd>
        </dl>
      </section>

      {operator && (
        <section class="card section" aria-labelledby="replace-h" id="replace">
          <h2 id="replace-h">Replace the value</h2>
          {d.plan.length ? (
            <>
              <p class="card-sub">
                Version {s.version + 1} goes to {d.plan.length} bot{d.plan.length > 1 ? "s" : ""}: running ones restart with it
                (OpenClaw reads it when the gateway starts), stopped ones get it when they start.
              </p>
              <RolloutPlanTable plan={d.plan} />
            </>
          ) : (
            <p class="card-sub">No bot uses this secret: replacing it only stores the new version.</p>
          )}
          <FormMessage form={d.form} fields={["value", "confirm"]} />
          <form
            method="post"
            action={`/secrets/${s.name}`}
            class="stack"
            autocomplete="off"
            data-confirm={
              restarts.length ? `Replace ${s.name}? ${restarts.join(", ")} will restart with the new value.` : undefined
            }
          >
            <Field
              label="New value"
              name="value"
              type="password"
              form={d.form}
              required
              maxlength={65536}
              autocomplete="new-password"
              hint="One line. Shown to nobody after you save it."
            />
            {d.plan.length > 0 && <ConfirmBox name={s.name} plan={d.plan} />}
            <div class="form-actions">
              <button type="submit" class={restarts.length ? "btn-danger" : "btn-primary"}>
                Replace
              </button>
            </div>
          </form>
        </section>
      )}

      <section class="card section" aria-labelledby="rollouts-h">
        <h2 id="rollouts-h">Rollouts</h2>
        {d.rollouts.length === 0 ? (
          <p class="muted">No new version has gone to a bot yet.</p>
        ) : (
          <div
            class="table-wrap"
            id="rollouts-live"
            hx-get={`/secrets/${s.name}`}
            hx-trigger="every 5s"
            hx-select="#rollouts-live"
            hx-swap="outerHTML"
          >
            <table>
              <caption class="visually-hidden">Delivery of new versions per bot</caption>
              <thead>
                <tr>
                  <th scope="col">Bot</th>
                  <th scope="col">Version</th>
                  <th scope="col">State</th>
                  <th scope="col">Method</th>
                  <th scope="col">Message</th>
                  <th scope="col">Updated</th>
                </tr>
              </thead>
              <tbody>
                {d.rollouts.map((r) => (
                  <tr>
                    <td>
                      <a href={`/bots/${r.bot}`}>{r.bot}</a>
                    </td>
                    <td>v{r.version}</td>
                    <td>
                      <RolloutBadge state={r.state} />
                    </td>
                    <td>{r.method ?? "—"}</td>
                    <td>{r.message}</td>
                    <td>
                      <Time ms={r.updatedAt} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </>
  );
}
