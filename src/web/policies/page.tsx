/** @jsxImportSource hono/jsx */
import type { Role } from "../../core/context.ts";
import { roleRank } from "../../core/context.ts";
import type { BotFindings, ExceptionView, PackDetail, PackView } from "../../services/policies.ts";
import {
  Alert,
  Crumbs,
  DocumentEditorForm,
  EmptyState,
  Field,
  FormMessage,
  type FormState,
  PageHead,
  ProblemList,
  SelectField,
  Stat,
  Time,
} from "../ui/components.tsx";
import { blocking, PolicyResults } from "../ui/policy-results.tsx";

function isAdmin(role: Role | null): boolean {
  return roleRank(role) >= roleRank("admin");
}

function scopeText(s: PackView["scope"]): string {
  if (!s) return "every bot";
  const parts: string[] = [];
  if (s.workspace) parts.push(`workspace ${s.workspace}`);
  if (s.fleets) parts.push(`fleet ${s.fleets.join(" or ")}`);
  if (s.environments) parts.push(`environment ${s.environments.join(" or ")}`);
  for (const [k, v] of Object.entries(s.labels ?? {})) parts.push(`${k}=${v}`);
  return parts.join(", ") || "every bot";
}

function ModeBadge(props: { pack: PackView }) {
  const p = props.pack;
  if (!p.enabled) return <span class="badge">off</span>;
  return (
    <span class={`badge ${p.mode === "enforce" ? "badge-danger" : "badge-warn"}`}>
      {p.mode === "enforce" ? "enforced" : "advisory"}
    </span>
  );
}

/** Which bots have findings after a change (shown after saving a pack or an exception). */
function ViolatingReport(props: { violating: BotFindings[] }) {
  if (props.violating.length === 0) return <p class="muted">No bot violates a policy now.</p>;
  return (
    <ul class="problems">
      {props.violating.map((f) => (
        <li>
          <a href={`/bots/${f.bot}`}>{f.bot}</a>{" "}
          {f.blocked ? <span class="badge badge-danger">blocked</span> : <span class="badge badge-warn">warnings</span>}{" "}
          {f.violations.map((v) => `${v.packId}/${v.ruleId}`).join(", ")}
        </li>
      ))}
    </ul>
  );
}

export interface EditorState {
  text: string;
  error?: { message: string; problems: { path: string; message: string }[] };
}

function PackEditor(props: { editor: EditorState; title: string; id: string; lead: string }) {
  const e = props.editor;
  return (
    <section class="card section" aria-labelledby={`${props.id}-h`} id={props.id}>
      <h2 id={`${props.id}-h`}>{props.title}</h2>
      <p class="card-sub">{props.lead}</p>
      {e.error && <ProblemList title={e.error.message} problems={e.error.problems} />}
      <DocumentEditorForm
        action="/policies"
        id="f-pack"
        name="pack"
        label="Pack (YAML or JSON)"
        text={e.text}
        placeholder={EXAMPLE_PACK}
        invalid={!!e.error}
        saveLabel="Save pack"
        hint={
          <>
            Rule types: required, forbidden, allowedValues, pattern, range, jsonSchema, builtin. Paths are dotted; <code>*</code>{" "}
            matches every key (e.g. <code>channels.*.dmPolicy</code>).
          </>
        }
      />
    </section>
  );
}

const EXAMPLE_PACK = `id: team-rules
name: Team rules
mode: enforce          # or advisory: warn only
scope: { environments: [production] }
rules:
  - { id: anthropic-only, type: pattern, path: agents.defaults.model, regex: "^anthropic/" }
  - { id: no-debug, type: allowedValues, path: logging.level, values: [info, warn, error], fix: { logging: { level: info } } }`;

export interface PoliciesData {
  packs: (PackView & { violating: string[]; blocking: string[] })[];
  exceptions: ExceptionView[];
  role: Role | null;
  editor: EditorState;
  exceptionForm: FormState;
  preview?: { action: string; violating: BotFindings[] };
  ruleIds: string[];
  bots: string[];
}

function PacksTable(props: { packs: PoliciesData["packs"]; admin: boolean }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Policy packs</caption>
        <thead>
          <tr>
            <th scope="col">Pack</th>
            <th scope="col">Mode</th>
            <th scope="col">Scope</th>
            <th scope="col">Rules</th>
            <th scope="col">Bots violating now</th>
            {props.admin && <th scope="col">Change</th>}
          </tr>
        </thead>
        <tbody>
          {props.packs.map((p) => (
            <tr>
              <td>
                <a href={`/policies/${p.id}`}>{p.name}</a> <span class="muted small mono">{p.id}</span>{" "}
                {p.builtin ? <span class="badge">built-in</span> : <span class="badge badge-info">custom</span>}
                {p.description && <div class="small muted">{p.description}</div>}
              </td>
              <td>
                <ModeBadge pack={p} />
              </td>
              <td class="small">{scopeText(p.scope)}</td>
              <td>{p.ruleCount}</td>
              <td class="small">
                {!p.enabled || p.violating.length === 0 ? (
                  <span class="muted">—</span>
                ) : (
                  p.violating.map((b, i) => (
                    <>
                      {i > 0 && ", "}
                      <a href={`/bots/${b}`}>{b}</a>
                      {p.blocking.includes(b) && <span class="badge badge-danger">blocked</span>}
                    </>
                  ))
                )}
              </td>
              {props.admin && (
                <td>
                  <PackToggle pack={p} />
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function PackToggle(props: { pack: PackView }) {
  const p = props.pack;
  return (
    <div class="policy-toggle">
      {p.enabled ? (
        <form method="post" action={`/policies/${p.id}/disable`} class="inline-form">
          <button
            type="submit"
            class="btn-sm"
            data-confirm={`Turn off ${p.name}? Its rules stop being checked on every write and at reconcile.`}
          >
            Disable
          </button>
        </form>
      ) : null}
      <form method="post" action={`/policies/${p.id}/enable`} class="inline-form">
        <label class="visually-hidden" for={`mode-${p.id}`}>
          Mode for {p.name}
        </label>
        <select id={`mode-${p.id}`} name="mode">
          <option value="enforce" selected={p.mode === "enforce"}>
            enforce (blocks)
          </option>
          <option value="advisory" selected={p.mode === "advisory"}>
            advisory (warns)
          </option>
        </select>
        <button type="submit" class="btn-sm">
          {p.enabled ? "Set mode" : "Enable"}
        </button>
      </form>
    </div>
  );
}

function ExceptionsSection(props: { data: PoliciesData }) {
  const d = props.data;
  const admin = isAdmin(d.role);
  return (
    <section class="card section" aria-labelledby="exceptions-h" id="exceptions">
      <h2 id="exceptions-h">Exceptions</h2>
      <p class="card-sub">
        An exception waives one rule (for one bot, or every bot) until its expiry, with a reason. Creating and revoking one is
        audited.
      </p>
      {d.exceptions.length === 0 ? (
        <p class="muted">No exceptions.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Policy exceptions</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Bot</th>
                <th scope="col">Reason</th>
                <th scope="col">Expires</th>
                <th scope="col">State</th>
                {admin && <th scope="col">Revoke</th>}
              </tr>
            </thead>
            <tbody>
              {d.exceptions.map((e) => (
                <tr>
                  <td class="mono">{e.ruleId}</td>
                  <td>{e.botName ? <a href={`/bots/${e.botName}`}>{e.botName}</a> : <span class="muted">every bot</span>}</td>
                  <td>
                    {e.reason} <span class="muted small">— {e.createdBy}</span>
                  </td>
                  <td>
                    <Time ms={e.expiresAt} />
                  </td>
                  <td>
                    <span class={`badge ${e.state === "active" ? "badge-warn" : ""}`.trim()}>{e.state}</span>
                  </td>
                  {admin && (
                    <td>
                      {e.state === "active" && (
                        <form method="post" action={`/policies/exceptions/${e.id}/revoke`} class="inline-form">
                          <button
                            type="submit"
                            class="btn-sm btn-danger"
                            data-confirm={`Revoke the exception for ${e.ruleId}? The rule applies again at once.`}
                          >
                            Revoke
                          </button>
                        </form>
                      )}
                    </td>
                  )}
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {admin ? (
        <form method="post" action="/policies/exceptions" class="stack">
          <h3>New exception</h3>
          <FormMessage form={d.exceptionForm} fields={["ruleId", "botName", "reason", "expiresAt"]} />
          <div class="form-row">
            <SelectField
              label="Rule"
              name="ruleId"
              form={d.exceptionForm}
              options={[{ value: "", label: "pick a rule" }, ...d.ruleIds.map((r) => ({ value: r, label: r }))]}
              required
            />
            <SelectField
              label="Bot"
              name="botName"
              form={d.exceptionForm}
              options={[{ value: "", label: "every bot" }, ...d.bots.map((b) => ({ value: b, label: b }))]}
            />
          </div>
          <Field
            label="Reason"
            name="reason"
            form={d.exceptionForm}
            required
            maxlength={500}
            hint="Why the rule is waived; kept in the audit log."
          />
          <Field
            label="Expires"
            name="expiresAt"
            type="date"
            form={d.exceptionForm}
            required
            hint="The exception ends at the end of this day (UTC); at most 366 days ahead."
          />
          <div class="form-actions">
            <button type="submit" class="btn-primary">
              Create exception
            </button>
          </div>
        </form>
      ) : (
        <p class="muted">Only admins and owners can create or revoke exceptions.</p>
      )}
    </section>
  );
}

export function PoliciesPage(props: { data: PoliciesData }) {
  const d = props.data;
  const admin = isAdmin(d.role);
  return (
    <>
      <PageHead
        title="Policies"
        lead="Rules every bot change is checked against before it is stored, and again before the reconciler applies it. Enforced packs block; advisory packs warn."
      />
      {d.preview && (
        <Alert
          kind="info"
          title={`Preview: the pack would be ${d.preview.action}; nothing was saved. Bots with findings afterwards:`}
        >
          <ViolatingReport violating={d.preview.violating} />
        </Alert>
      )}
      <section class="section" aria-labelledby="packs-h">
        <h2 id="packs-h">Packs</h2>
        <PacksTable packs={d.packs} admin={admin} />
      </section>
      <ExceptionsSection data={d} />
      {admin ? (
        <PackEditor
          editor={d.editor}
          title="Custom pack"
          id="editor"
          lead="Paste a pack to create it, or one with an existing custom id to replace it. Preview shows which bots would violate it; nothing is saved until you save."
        />
      ) : (
        <p class="muted section">Only admins and owners can change policy packs.</p>
      )}
    </>
  );
}

export interface PackPageData {
  pack: PackDetail;
  role: Role | null;
  editor: EditorState;
}

export function PackPage(props: { data: PackPageData }) {
  const d = props.data;
  const p = d.pack;
  const admin = isAdmin(d.role);
  return (
    <>
      <Crumbs trail={[{ href: "/policies", label: "Policies" }]} here={p.name} />
      <PageHead title={p.name} lead={p.description || undefined}>
        {admin && <PackToggle pack={p} />}
      </PageHead>
      <div class="stats">
        <Stat
          label="Mode"
          note={p.mode !== p.defaultMode ? `pack default: ${p.defaultMode}` : p.builtin ? "built-in pack" : "custom pack"}
        >
          <ModeBadge pack={p} />
        </Stat>
        <Stat label="Scope">{scopeText(p.scope)}</Stat>
        <Stat label="Rules">{p.ruleCount}</Stat>
      </div>

      <section class="section" aria-labelledby="rules-h">
        <h2 id="rules-h">Rules</h2>
        <div class="table-wrap">
          <table>
            <caption class="visually-hidden">Rules of {p.name}</caption>
            <thead>
              <tr>
                <th scope="col">Rule</th>
                <th scope="col">Type</th>
                <th scope="col">Checks</th>
                <th scope="col">Severity</th>
              </tr>
            </thead>
            <tbody>
              {p.rules.map((r) => (
                <tr>
                  <td class="mono">{r.id}</td>
                  <td>{r.type === "builtin" ? `builtin: ${r.check}` : r.type}</td>
                  <td>
                    {"path" in r && <code>{r.path || "(config)"}</code>} {r.description}
                  </td>
                  <td>{r.severity}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      </section>

      <section class="section" aria-labelledby="findings-h">
        <h2 id="findings-h">Bots with findings now</h2>
        {!p.enabled ? (
          <p class="muted">The pack is off; nothing is checked.</p>
        ) : p.findings.length === 0 ? (
          <EmptyState title="No bot violates this pack" />
        ) : (
          p.findings.map((f) => (
            <div class="apply-doc">
              <h3>
                <a href={`/bots/${f.bot}`}>{f.bot}</a>
              </h3>
              <PolicyResults
                result={{ blocked: f.violations.some(blocking), violations: f.violations, excepted: f.excepted }}
                title="Violations (the reconciler will not apply this bot's revision while they stand):"
              />
            </div>
          ))
        )}
      </section>

      <section class="section" aria-labelledby="yaml-h">
        <h2 id="yaml-h">As YAML</h2>
        <pre class="code-block">
          <code>{p.yaml}</code>
        </pre>
      </section>

      {admin && !p.builtin && (
        <>
          <PackEditor
            editor={d.editor}
            title="Edit this pack"
            id="editor"
            lead="Saving replaces the pack; its own mode applies again."
          />
          <section class="card section danger-zone" aria-labelledby="delete-h">
            <h2 id="delete-h">Delete</h2>
            <form
              method="post"
              action={`/policies/${p.id}/delete`}
              class="stack"
              data-confirm={`Delete the pack ${p.name}? Its rules stop being checked.`}
            >
              <div class="form-actions">
                <button type="submit" class="btn-danger">
                  Delete pack
                </button>
              </div>
            </form>
          </section>
        </>
      )}
    </>
  );
}
