/** @jsxImportSource hono/jsx */

import { providerForInit } from "../../../providers/registry.ts";
import { type Role, roleRank } from "../../core/context.ts";
import type { PathChange } from "../../domain/openclaw-config.ts";
import type { BlastEntry } from "../../services/bots.ts";
import type { TemplateSummary } from "../../services/templates.ts";
import { ChangesTable } from "../ui/changes-table.tsx";
import {
  Alert,
  Crumbs,
  DocumentEditorForm,
  EmptyState,
  Field,
  FormMessage,
  type FormState,
  type ManifestProblem,
  PageHead,
  ProblemList,
  SelectField,
} from "../ui/components.tsx";

/**
 * Templates: the list (cards), one template (inputs, values, secrets, bots using it, and the form that creates
 * a bot from it), and the YAML editor for user templates with a blast-radius preview. Secret inputs only ever
 * carry the name of a stored secret; a value typed into the form is stored first and never shown again.
 */

const isAdmin = (r: Role | null | undefined) => roleRank(r) >= roleRank("admin");
const isOperator = (r: Role | null | undefined) => roleRank(r) >= roleRank("operator");

function TypeBadge(props: { type: string }) {
  return <span class={`badge tpl-type tpl-type-${props.type}`}>{props.type}</span>;
}

export function TemplatesListPage(props: { data: { templates: TemplateSummary[]; role: Role | null } }) {
  const d = props.data;
  const builtins = d.templates.filter((t) => t.builtin);
  const mine = d.templates.filter((t) => !t.builtin);
  return (
    <>
      <PageHead
        title="Templates"
        lead="Starting points for bots: a template sets the lowest layer of a bot's configuration and asks for a few inputs. Bots keep referring to their template, so editing a user template updates the bots made from it (after showing you which)."
      >
        {isAdmin(d.role) && (
          <a class="btn btn-primary" href="/templates/new">
            New template
          </a>
        )}
      </PageHead>
      <section class="section" aria-labelledby="tpl-builtin-h">
        <h2 id="tpl-builtin-h">Built-in</h2>
        <TemplateCards templates={builtins} />
      </section>
      <section class="section" aria-labelledby="tpl-user-h">
        <h2 id="tpl-user-h">This workspace's templates</h2>
        {mine.length === 0 ? (
          <EmptyState title="No templates of your own yet">
            {isAdmin(d.role) ? (
              <p>
                <a href="/templates/new">Write one</a> in YAML, or copy a built-in as a starting point.
              </p>
            ) : (
              <p>An admin can add templates here.</p>
            )}
          </EmptyState>
        ) : (
          <TemplateCards templates={mine} />
        )}
      </section>
    </>
  );
}

function TemplateCards(props: { templates: TemplateSummary[] }) {
  return (
    <ul class="tpl-cards">
      {props.templates.map((t) => (
        <li class="card tpl-card">
          <h3 class="card-title">
            <a href={`/templates/${t.name}`}>{t.title}</a>
          </h3>
          <p class="muted small">
            <code>{t.name}</code> · {t.builtin ? "built-in" : `version ${t.version}`} ·{" "}
            {t.usedBy.length === 1 ? "1 bot" : `${t.usedBy.length} bots`}
          </p>
          <p>{t.description}</p>
          {t.inputs.length > 0 && (
            <p class="small">
              Inputs:{" "}
              {t.inputs.map((i, n) => (
                <>
                  {n > 0 && ", "}
                  <code>{i.name}</code>
                  {i.required && <span class="muted">*</span>}
                </>
              ))}
            </p>
          )}
        </li>
      ))}
    </ul>
  );
}

export interface TemplatePageData {
  t: TemplateSummary;
  role: Role | null;
  valuesYaml: string;
  secretsYaml: string;
  targetText: string;
  /** names of stored secrets, for secret inputs */
  secrets: string[];
  /** hosts with a confirmed key (systemd or launchd targets) */
  hosts: { name: string; init: string | null }[];
  form: FormState;
  /** a create error with its per-path problems */
  problems?: ManifestProblem[];
  preview?: { changes: PathChange[] };
}

function InputField(props: { input: TemplateSummary["inputs"][number]; form: FormState; secrets: string[] }) {
  const i = props.input;
  const name = `in_${i.name}`;
  const label = `${i.label}${i.required ? "" : " (optional)"}`;
  const hint =
    [i.description, i.default !== undefined && i.type !== "secret" ? `Default: ${String(i.default)}` : ""]
      .filter(Boolean)
      .join(" ") || undefined;
  if (i.type === "secret") {
    const picked = props.form.values[name] ?? "";
    return (
      <fieldset class="secret-need">
        <legend>
          {i.label} <span class="muted">— a stored secret{i.required ? "" : " (optional)"}</span>
        </legend>
        {i.description && <p class="hint">{i.description}</p>}
        <SelectField
          label="Stored secret"
          name={name}
          form={props.form}
          value={picked}
          options={[
            { value: "", label: i.required ? "— store a new value (below) —" : "— none, or store a new value (below) —" },
            ...props.secrets.map((s) => ({ value: s, label: s })),
          ]}
        />
        <div class="form-row">
          <Field
            label="New secret name"
            name={`newname_${i.name}`}
            form={props.form}
            maxlength={63}
            autocomplete="off"
            hint="Storing under a name that exists replaces its value."
          />
          <Field
            label="New value"
            name={`value_${i.name}`}
            type="password"
            form={props.form}
            autocomplete="off"
            maxlength={65536}
            hint="Stored encrypted when you create the bot; never shown again."
          />
        </div>
      </fieldset>
    );
  }
  if (i.type === "enum" || i.type === "boolean") {
    const options = i.type === "boolean" ? ["true", "false"] : (i.options ?? []);
    const value = props.form.values[name] ?? (i.default !== undefined ? String(i.default) : "");
    return (
      <SelectField
        label={label}
        name={name}
        form={props.form}
        value={value}
        hint={i.description}
        options={[
          ...(i.required && i.default !== undefined
            ? []
            : [{ value: "", label: i.default !== undefined ? `default (${String(i.default)})` : "—" }]),
          ...options.map((o) => ({ value: o, label: o })),
        ]}
      />
    );
  }
  return (
    <Field
      label={label}
      name={name}
      form={props.form}
      hint={hint}
      required={i.required && i.default === undefined}
      inputmode={i.type === "number" ? "decimal" : undefined}
      maxlength={10000}
      autocomplete="off"
    />
  );
}

export function TemplatePage(props: { data: TemplatePageData }) {
  const d = props.data;
  const t = d.t;
  const fields = [
    "bot_name",
    "provider",
    "version",
    "image",
    "fleet",
    "environment",
    "labels",
    ...t.inputs.flatMap((i) => [`in_${i.name}`, `newname_${i.name}`, `value_${i.name}`]),
  ];
  return (
    <>
      <Crumbs trail={[{ href: "/templates", label: "Templates" }]} here={t.name} />
      <PageHead title={t.title} lead={t.description}>
        {!t.builtin && isAdmin(d.role) && (
          <a class="btn" href={`/templates/${t.name}/edit`}>
            Edit
          </a>
        )}
      </PageHead>
      <div class="stack">
        <section class="card" aria-labelledby="tpl-about-h">
          <h2 id="tpl-about-h" class="card-title">
            About
          </h2>
          <dl class="kv">
            <dt>Name</dt>
            <dd>
              <code>{t.name}</code>
            </dd>
            <dt>Kind</dt>
            <dd>{t.builtin ? "built-in (read-only)" : `user template, version ${t.version}`}</dd>
            <dt>Default target</dt>
            <dd>{d.targetText}</dd>
            <dt>Secrets it needs</dt>
            <dd>
              {t.secretEnvs.length
                ? t.secretEnvs.map((e, n) => (
                    <>
                      {n > 0 && ", "}
                      <code>{e}</code>
                    </>
                  ))
                : "none"}
            </dd>
            <dt>Bots using it</dt>
            <dd>
              {t.usedBy.length
                ? t.usedBy.map((b, n) => (
                    <>
                      {n > 0 && ", "}
                      <a href={`/bots/${b}`}>{b}</a>
                    </>
                  ))
                : "none yet"}
            </dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="tpl-inputs-h">
          <h2 id="tpl-inputs-h" class="card-title">
            Inputs
          </h2>
          {t.inputs.length === 0 ? (
            <p class="muted">This template asks for nothing.</p>
          ) : (
            <div class="table-wrap">
              <table>
                <caption class="visually-hidden">Inputs</caption>
                <thead>
                  <tr>
                    <th scope="col">Input</th>
                    <th scope="col">Type</th>
                    <th scope="col">Required</th>
                    <th scope="col">Default</th>
                  </tr>
                </thead>
                <tbody>
                  {t.inputs.map((i) => (
                    <tr>
                      <td>
                        <code>{i.name}</code>
                        <div class="muted small">{i.label}</div>
                      </td>
                      <td>
                        <TypeBadge type={i.type} />
                        {i.options && <div class="muted small">{i.options.join(" | ")}</div>}
                      </td>
                      <td>{i.required ? "yes" : "no"}</td>
                      <td>{i.default !== undefined ? <code>{String(i.default)}</code> : <span class="muted">—</span>}</td>
                    </tr>
                  ))}
                </tbody>
              </table>
            </div>
          )}
        </section>
      </div>
      <section class="card section" aria-labelledby="tpl-values-h">
        <h2 id="tpl-values-h" class="card-title">
          Values
        </h2>
        <p class="card-sub">
          The OpenClaw settings the template contributes, with <code>{"{{ inputs.NAME }}"}</code> placeholders. Profiles, overlays
          and the bot's own settings are applied on top.
        </p>
        <pre class="code-block">
          <code>{d.valuesYaml}</code>
        </pre>
        {d.secretsYaml && (
          <>
            <h3>Secret references</h3>
            <pre class="code-block">
              <code>{d.secretsYaml}</code>
            </pre>
          </>
        )}
      </section>

      <section class="card section" aria-labelledby="create-h" id="create">
        <h2 id="create-h" class="card-title">
          Create a bot from this template
        </h2>
        {!isOperator(d.role) ? (
          <p class="muted">Only operators, admins and owners can create bots.</p>
        ) : (
          <>
            {d.problems ? (
              <ProblemList title={d.form.message ?? "The bot was not created."} problems={d.problems} />
            ) : (
              <FormMessage form={d.form} fields={fields} />
            )}
            {d.preview && (
              <Alert kind="info" title="Dry run: the bot would start with this configuration. Nothing was stored.">
                <ChangesTable changes={d.preview.changes} caption="Config the bot would start with" />
              </Alert>
            )}
            <form method="post" action={`/templates/${t.name}/bots`} class="stack">
              <Field
                label="Bot name"
                name="bot_name"
                form={d.form}
                required
                maxlength={63}
                pattern="[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?"
                autocomplete="off"
                hint="Lowercase letters, digits and dashes."
              />
              {t.inputs.map((i) => (
                <InputField input={i} form={d.form} secrets={d.secrets} />
              ))}
              <fieldset>
                <legend>Where it runs</legend>
                <div class="form-row">
                  <SelectField
                    label="Provider"
                    name="provider"
                    form={d.form}
                    options={[
                      { value: "", label: `template default (${d.targetText})` },
                      { value: "local", label: "local — a process on this machine" },
                      { value: "docker", label: "docker — a hardened container" },
                      ...d.hosts.map((h) => ({
                        value: `host:${h.name}`,
                        label: `${providerForInit(h.init)} on ${h.name} — over SSH`,
                      })),
                    ]}
                  />
                  <Field
                    label="OpenClaw version"
                    name="version"
                    form={d.form}
                    optional
                    maxlength={40}
                    hint="For local or a host, e.g. 2026.9.6."
                  />
                  <Field
                    label="Image"
                    name="image"
                    form={d.form}
                    optional
                    maxlength={300}
                    hint="For docker: a pinned tag or digest."
                  />
                </div>
                <div class="form-row">
                  <Field label="Fleet" name="fleet" form={d.form} optional maxlength={63} autocomplete="off" />
                  <Field label="Environment" name="environment" form={d.form} optional maxlength={63} autocomplete="off" />
                  <Field
                    label="Labels"
                    name="labels"
                    form={d.form}
                    optional
                    maxlength={1000}
                    autocomplete="off"
                    hint="key=value, comma separated."
                  />
                </div>
              </fieldset>
              <div class="form-actions">
                <button type="submit" name="mode" value="create" class="btn-primary">
                  Create bot
                </button>
                <button type="submit" name="mode" value="preview">
                  Dry run
                </button>
              </div>
            </form>
          </>
        )}
      </section>

      {!t.builtin && isAdmin(d.role) && (
        <details class="danger-zone card section">
          <summary>Delete this template</summary>
          <form
            method="post"
            action={`/templates/${t.name}/delete`}
            class="danger-form"
            data-confirm={`Delete the template ${t.name}?`}
          >
            <p>{t.usedBy.length ? `Refused while bots use it (${t.usedBy.join(", ")}).` : "No bot uses it."}</p>
            <button type="submit" class="btn-danger">
              Delete template
            </button>
          </form>
        </details>
      )}
    </>
  );
}

export interface EditorData {
  role: Role | null;
  /** the template being edited, or undefined for a new one */
  name?: string;
  text: string;
  problems?: ManifestProblem[];
  message?: string;
  preview?: { action: string; version: number; blast: BlastEntry[] };
}

export const TEMPLATE_EXAMPLE = `apiVersion: molthub/v1
kind: Template
metadata:
  name: support-desk
  title: Support desk
  description: Our Telegram support bot
spec:
  inputs:
    - { name: tokenSecret, label: Telegram token, type: secret, required: true }
    - { name: model, label: Model, type: string, default: anthropic/claude-sonnet-4-5 }
  openclaw:
    agents: { defaults: { model: "{{ inputs.model }}" } }
    channels:
      telegram:
        enabled: true
        botToken: { source: env, provider: default, id: TELEGRAM_BOT_TOKEN }
        dmPolicy: pairing
        groupPolicy: disabled
  secrets:
    TELEGRAM_BOT_TOKEN: { secret: "{{ inputs.tokenSecret }}" }
`;

function BlastTable(props: { blast: BlastEntry[] }) {
  if (!props.blast.length) return <p class="muted">No bot uses this template; saving changes no bot.</p>;
  return (
    <ul class="tpl-blast">
      {props.blast.map((b) => (
        <li>
          <p>
            <a href={`/bots/${b.bot}`}>{b.bot}</a>:{" "}
            {b.action === "failed" ? (
              <strong class="field-error">would fail — {b.error?.message}</strong>
            ) : b.action === "unchanged" ? (
              <span class="muted">unchanged</span>
            ) : (
              <span>
                gets revision {b.revision} ({b.changes.length} change{b.changes.length === 1 ? "" : "s"})
              </span>
            )}
          </p>
          {b.action === "updated" && <ChangesTable changes={b.changes} caption={`Changes for ${b.bot}`} />}
          {b.action === "failed" && b.error?.issues.length ? (
            <ul class="problems">
              {b.error.issues.map((i) => (
                <li>
                  <code>{i.path}</code> — {i.message}
                </li>
              ))}
            </ul>
          ) : null}
        </li>
      ))}
    </ul>
  );
}

export function TemplateEditorPage(props: { data: EditorData }) {
  const d = props.data;
  const title = d.name ? `Edit ${d.name}` : "New template";
  return (
    <>
      <Crumbs
        trail={[{ href: "/templates", label: "Templates" }, ...(d.name ? [{ href: `/templates/${d.name}`, label: d.name }] : [])]}
        here={d.name ? "Edit" : "New"}
      />
      <PageHead
        title={title}
        lead="A template in YAML (or JSON). Preview checks it and shows which bots it would change, path by path; nothing is stored until you save."
      />
      {!isAdmin(d.role) ? (
        <Alert kind="info">Only admins and owners can change templates.</Alert>
      ) : (
        <section class="card">
          {d.problems && (
            <ProblemList title={d.message ?? "The template has problems; nothing was saved."} problems={d.problems} />
          )}
          {d.preview && (
            <Alert
              kind={d.preview.blast.some((b) => b.action === "failed") ? "warn" : "info"}
              title={`Preview: the template would be ${d.preview.action} (version ${d.preview.version}). Nothing was saved.`}
            >
              <BlastTable blast={d.preview.blast} />
            </Alert>
          )}
          <DocumentEditorForm
            action="/templates/editor"
            id="f-text"
            name="text"
            label="Template (YAML or JSON)"
            text={d.text}
            rows={24}
            hint={
              <>
                Placeholders: <code>{"{{ inputs.NAME }}"}</code> (a whole value keeps the input's type;{" "}
                <code>{"{{ inputs.NAME | list }}"}</code> splits text into a list). Secret inputs name stored secrets and are used
                under <code>spec.secrets</code>; the config refers to them with a SecretRef.
              </>
            }
          >
            {d.name && <input type="hidden" name="original" value={d.name} />}
          </DocumentEditorForm>
        </section>
      )}
    </>
  );
}
