/** @jsxImportSource hono/jsx */
import { type Role, roleRank } from "../../core/context.ts";
import { CONNECTOR_NAME_MAX, CONNECTOR_TYPE_DEFS, CONNECTOR_TYPES } from "../../domain/connectors.ts";
import type { ConnectorView, RolloutPlanEntry, RolloutView } from "../../services/connectors.ts";
import { Alert, EmptyState, Field, FormMessage, type FormState, PageHead, SelectField, Time } from "../ui/components.tsx";

const isAdmin = (r: Role | null | undefined) => roleRank(r) >= roleRank("admin");
const isOperator = (r: Role | null | undefined) => roleRank(r) >= roleRank("operator");

function LastTest(props: { t: ConnectorView["lastTest"] }) {
  const t = props.t;
  if (!t) return <span class="muted">not tested yet</span>;
  return (
    <span class="connector-test">
      <span class={`badge ${t.ok ? "badge-ok" : "badge-danger"}`}>{t.ok ? "ok" : "failed"}</span>{" "}
      <span class="small">{t.message}</span>{" "}
      <span class="muted small">
        (<Time ms={t.at} />)
      </span>
    </span>
  );
}

function BotLinks(props: { bots: string[]; empty?: string }) {
  if (!props.bots.length) return <span class="muted">{props.empty ?? "no bot"}</span>;
  return (
    <>
      {props.bots.map((b, i) => (
        <>
          {i > 0 && ", "}
          <a href={`/bots/${b}`}>{b}</a>
        </>
      ))}
    </>
  );
}

export interface ConnectorsListData {
  connectors: ConnectorView[];
  role: Role | null;
  form: FormState;
}

/** The list of connectors, and (for admins) the form that adds one. Credentials are write-only. */
export function ConnectorsListPage(props: { data: ConnectorsListData }) {
  const d = props.data;
  const admin = isAdmin(d.role);
  const typeOptions = CONNECTOR_TYPES.map((t) => {
    const def = CONNECTOR_TYPE_DEFS[t];
    return {
      value: t,
      label: `${def.label} — ${def.category === "llm" ? "model provider" : "chat channel"}${def.credential ? "" : " (no key)"}`,
    };
  });
  return (
    <>
      <PageHead
        title="Connectors"
        lead="Shared credentials for model providers and chat channels. Bind one to a bot and it gets the key as an environment variable, referenced from its config; rotate it here and every bot that uses it gets the new value."
      />
      {d.connectors.length === 0 ? (
        <EmptyState title="No connectors yet">
          <p>
            {admin
              ? "Add one below: pick the type, paste its key or token, and test it."
              : "An admin adds them; you can bind them to bots."}
          </p>
        </EmptyState>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Connectors</caption>
            <thead>
              <tr>
                <th scope="col">Name</th>
                <th scope="col">Type</th>
                <th scope="col">Last test</th>
                <th scope="col">Bound bots</th>
              </tr>
            </thead>
            <tbody>
              {d.connectors.map((c) => (
                <tr>
                  <td>
                    <a href={`/connectors/${c.name}`}>
                      <code>{c.name}</code>
                    </a>
                  </td>
                  <td>
                    {c.label} <span class="muted small">{c.env.join(", ")}</span>
                  </td>
                  <td>
                    <LastTest t={c.lastTest} />
                  </td>
                  <td>
                    <BotLinks bots={c.boundBots} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}

      {admin ? (
        <section class="card section" aria-labelledby="add-h" id="add">
          <h2 id="add-h">Add a connector</h2>
          <p class="card-sub">
            The key or token is stored encrypted as the secret <code>connector-NAME</code> and is never shown again. Leave the
            base URL empty for the provider's own API.
          </p>
          <FormMessage form={d.form} fields={["name", "type", "value", "appToken", "secret", "baseUrl"]} />
          <form method="post" action="/connectors" class="stack" autocomplete="off">
            <div class="form-row">
              <Field
                label="Name"
                name="name"
                form={d.form}
                required
                maxlength={CONNECTOR_NAME_MAX}
                pattern="[a-z0-9]([a-z0-9\-]{0,38}[a-z0-9])?"
                hint="e.g. anthropic-main"
              />
              <SelectField label="Type" name="type" options={typeOptions} form={d.form} required />
            </div>
            <div class="form-row">
              <Field
                label="Key or token"
                name="value"
                type="password"
                form={d.form}
                optional
                maxlength={65536}
                autocomplete="new-password"
                hint="Not needed for Ollama, or when you name an existing secret."
              />
              <Field
                label="Slack app-level token"
                name="appToken"
                type="password"
                form={d.form}
                optional
                maxlength={65536}
                autocomplete="new-password"
                hint="Slack only: the xapp-… token for socket mode."
              />
            </div>
            <div class="form-row">
              <Field
                label="Existing secret"
                name="secret"
                form={d.form}
                optional
                maxlength={63}
                hint="Use a secret you already stored instead of pasting a value."
              />
              <Field
                label="Base URL"
                name="baseUrl"
                type="url"
                form={d.form}
                optional
                maxlength={500}
                hint="The API root, e.g. https://api.openai.com or http://127.0.0.1:11434 for Ollama."
              />
            </div>
            <div class="form-actions">
              <button type="submit" class="btn-primary">
                Add connector
              </button>
            </div>
          </form>
        </section>
      ) : (
        <p class="muted section">
          Only admins and owners add, change, rotate and delete connectors; operators test them and bind them to bots.
        </p>
      )}
    </>
  );
}

export interface ConnectorDetailData {
  connector: ConnectorView;
  role: Role | null;
  /** who takes a rotated value: the preview shown before the rotate form */
  plan: RolloutPlanEntry[];
  rollouts: RolloutView[];
  /** bots this connector could be bound to */
  unbound: string[];
  forms: { settings: FormState; rotate: FormState; bind: FormState };
  error?: string;
}

function RolloutBadge(props: { state: RolloutView["state"] }) {
  const kind = props.state === "delivered" ? "badge-ok" : props.state === "failed" ? "badge-danger" : "badge-info badge-busy";
  return <span class={`badge ${kind}`}>{props.state}</span>;
}

/** One connector: settings, connection test, rotation (blast radius first), rollout status and bindings. */
export function ConnectorPage(props: { data: ConnectorDetailData }) {
  const d = props.data;
  const c = d.connector;
  const def = CONNECTOR_TYPE_DEFS[c.type];
  const admin = isAdmin(d.role);
  const op = isOperator(d.role);
  const restarts = d.plan.filter((p) => p.method === "restart").map((p) => p.bot);
  return (
    <>
      <p class="crumbs">
        <a href="/connectors">Connectors</a> / <span>{c.name}</span>
      </p>
      <PageHead title={c.name} lead={`${c.label} ${def.category === "llm" ? "model provider" : "chat channel"}`} />
      {d.error && <Alert kind="error">{d.error}</Alert>}

      <section class="card section" aria-labelledby="about-h">
        <h2 id="about-h">Connection</h2>
        <dl class="kv">
          <dt>Base URL</dt>
          <dd>
            <code>{c.baseUrl}</code> {!c.settings.baseUrl && <span class="muted small">(default)</span>}
          </dd>
          <dt>Secret</dt>
          <dd>
            {c.secret ? <code>{c.secret}</code> : <span class="muted">none (no credential)</span>}
            {c.settings.appTokenSecret && (
              <>
                {" "}
                and <code>{c.settings.appTokenSecret}</code>
              </>
            )}
          </dd>
          <dt>Delivers</dt>
          <dd>
            {c.env.length ? (
              c.env.map((e) => <code class="connector-env">{e}</code>)
            ) : (
              <span class="muted">config only (no env var)</span>
            )}
          </dd>
          <dt>Last test</dt>
          <dd>
            <LastTest t={c.lastTest} />
          </dd>
        </dl>
        {op && (
          <form method="post" action={`/connectors/${c.name}/test`} class="form-actions">
            <button type="submit" class="btn-primary">
              Test connection
            </button>
          </form>
        )}
      </section>

      <section class="card section" aria-labelledby="bots-h">
        <h2 id="bots-h">Bound bots</h2>
        <p>
          <BotLinks bots={c.boundBots} empty="Not bound to any bot yet." />
        </p>
        {op && c.boundBots.length > 0 && (
          <div class="chips">
            {c.boundBots.map((b) => (
              <form
                method="post"
                action={`/connectors/${c.name}/unbind`}
                data-confirm={`Unbind ${c.name} from ${b}? ${b} gets a new revision without ${c.env.join(", ") || "its settings"}.`}
              >
                <input type="hidden" name="bot" value={b} />
                <button type="submit" class="btn-sm">
                  Unbind from {b}
                </button>
              </form>
            ))}
          </div>
        )}
        {op &&
          (d.unbound.length ? (
            <form method="post" action={`/connectors/${c.name}/bind`} class="stack">
              <FormMessage form={d.forms.bind} fields={["bot"]} />
              <SelectField
                label="Bind to bot"
                name="bot"
                options={d.unbound.map((b) => ({ value: b, label: b }))}
                form={d.forms.bind}
                required
              />
              <div class="form-actions">
                <button type="submit" class="btn-primary">
                  Bind
                </button>
              </div>
            </form>
          ) : (
            <p class="muted small">Every bot is bound already, or there is no bot yet.</p>
          ))}
      </section>

      {admin && def.credential && (
        <section class="card section" aria-labelledby="rotate-h" id="rotate">
          <h2 id="rotate-h">Rotate the credential</h2>
          {d.plan.length ? (
            <>
              <p class="card-sub">
                The new value goes to {d.plan.length} bot{d.plan.length > 1 ? "s" : ""}: running ones restart with it (OpenClaw
                reads it at start), stopped ones get it when they start.
              </p>
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
                    {d.plan.map((p) => (
                      <tr>
                        <td>
                          <a href={`/bots/${p.bot}`}>{p.bot}</a>
                          {!p.bound && <span class="muted small"> (uses the secret directly)</span>}
                        </td>
                        <td>{p.env.join(", ")}</td>
                        <td>{p.method}</td>
                      </tr>
                    ))}
                  </tbody>
                </table>
              </div>
            </>
          ) : (
            <p class="card-sub">No bot uses this credential yet: rotating only stores the new value.</p>
          )}
          <FormMessage form={d.forms.rotate} fields={["value", "appToken"]} />
          <form
            method="post"
            action={`/connectors/${c.name}/rotate`}
            class="stack"
            autocomplete="off"
            data-confirm={
              restarts.length ? `Rotate ${c.name}? ${restarts.join(", ")} will restart with the new value.` : `Rotate ${c.name}?`
            }
          >
            <div class="form-row">
              <Field
                label={`New ${def.credential.label}`}
                name="value"
                type="password"
                form={d.forms.rotate}
                optional={!!def.second}
                required={!def.second}
                maxlength={65536}
                autocomplete="new-password"
              />
              {def.second && (
                <Field
                  label={`New ${def.second.label}`}
                  name="appToken"
                  type="password"
                  form={d.forms.rotate}
                  optional
                  maxlength={65536}
                  autocomplete="new-password"
                />
              )}
            </div>
            <div class="field">
              <label class="check" for="f-confirm">
                <input id="f-confirm" type="checkbox" name="confirm" value="yes" required />{" "}
                {d.plan.length
                  ? `I understand that ${d.plan.length} bot${d.plan.length > 1 ? "s" : ""} take${d.plan.length > 1 ? "" : "s"} the new value`
                  : "Store the new value"}
              </label>
            </div>
            <div class="form-actions">
              <button type="submit" class="btn-danger">
                Rotate
              </button>
            </div>
          </form>
        </section>
      )}

      <section class="card section" aria-labelledby="rollouts-h">
        <h2 id="rollouts-h">Rollouts</h2>
        {d.rollouts.length === 0 ? (
          <p class="muted">No rotation yet.</p>
        ) : (
          <div
            class="table-wrap"
            id="rollouts-live"
            hx-get={`/connectors/${c.name}`}
            hx-trigger="every 5s"
            hx-select="#rollouts-live"
            hx-swap="outerHTML"
          >
            <table>
              <caption class="visually-hidden">Delivery of rotated values per bot</caption>
              <thead>
                <tr>
                  <th scope="col">Bot</th>
                  <th scope="col">Secret</th>
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
                    <td>
                      <code>{r.secret}</code> v{r.version}
                    </td>
                    <td>
                      <RolloutBadge state={r.state} />
                    </td>
                    <td>{r.method ?? <span class="muted">—</span>}</td>
                    <td class="small">{r.message}</td>
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

      {admin && (
        <section class="card section" aria-labelledby="settings-h">
          <h2 id="settings-h">Settings</h2>
          <p class="card-sub">
            Changing the base URL gives every bound bot a new revision; it is refused when a bound bot would fail.
          </p>
          <FormMessage form={d.forms.settings} fields={["baseUrl"]} />
          <form method="post" action={`/connectors/${c.name}/settings`} class="stack">
            <Field
              label="Base URL"
              name="baseUrl"
              type="url"
              form={d.forms.settings}
              value={d.forms.settings.values.baseUrl ?? c.settings.baseUrl ?? ""}
              optional
              maxlength={500}
              hint={`Empty: ${def.defaultBaseUrl}`}
            />
            <div class="form-actions">
              <button type="submit" class="btn-primary">
                Save settings
              </button>
            </div>
          </form>
          <form
            method="post"
            action={`/connectors/${c.name}/delete`}
            class="form-actions"
            data-confirm={
              c.boundBots.length
                ? `${c.name} is bound to ${c.boundBots.join(", ")}; unbind it first.`
                : `Delete the connector ${c.name}?`
            }
          >
            <button type="submit" class="btn-danger">
              Delete connector
            </button>
          </form>
        </section>
      )}
    </>
  );
}
