/** @jsxImportSource hono/jsx */

import { PROVIDER_MODULES, providerForInit } from "../../../providers/registry.ts";
import type { PathChange } from "../../domain/openclaw-config.ts";
import type { EvaluationResult } from "../../domain/policy.ts";
import { BUILTIN_TEMPLATES } from "../../domain/templates/builtins.ts";
import {
  type SecretNeed,
  STEP_FIELDS,
  type TargetHost,
  WIZARD_FIELDS,
  WIZARD_TARGETS,
  type WizardState,
  type WizardStep,
  type WizardTarget,
} from "../../domain/wizard.ts";
import { ChangesTable } from "../ui/changes-table.tsx";
import {
  Alert,
  Crumbs,
  Field,
  FormMessage,
  type FormState,
  type ManifestProblem,
  PageHead,
  ProblemList,
  SelectField,
} from "../ui/components.tsx";
import { PolicyResults } from "../ui/policy-results.tsx";

/**
 * The create-bot wizard: one server-rendered form per step, each posting to /bots/new. What earlier steps
 * chose travels in hidden fields; secret values never do (they are stored when entered, then referenced by name).
 * The state, the checks and the manifest it builds are in domain/wizard.ts.
 */
const STEPS = ["Target", "Model & channels", "Secrets", "Review", "Deploy"] as const;

const MODEL_SUGGESTIONS = [
  "anthropic/claude-sonnet-4-5",
  "anthropic/claude-opus-4-1",
  "anthropic/claude-haiku-4-5",
  "openai/gpt-5",
  "openai/gpt-5-mini",
  "google/gemini-2.5-pro",
  "google/gemini-2.5-flash",
  "openrouter/anthropic/claude-sonnet-4-5",
  "mistral/mistral-large-latest",
  "xai/grok-4",
];

export interface WizardData {
  step: WizardStep;
  state: WizardState;
  form: FormState;
  needs: SecretNeed[];
  /** names of the secrets that exist in the workspace */
  secrets: string[];
  /** the model's provider when Molthub does not know which key it needs */
  unknownProvider?: string;
  review?: {
    yaml: string;
    changes: PathChange[];
    error?: { message: string; problems: ManifestProblem[] };
    policy?: EvaluationResult;
  };
  /** registered hosts whose key is confirmed (targets for systemd/launchd bots) */
  hosts?: TargetHost[];
}

function Stepper(props: { step: WizardStep }) {
  return (
    <ol class="wizard-steps" aria-label="Steps">
      {STEPS.map((label, i) => {
        const n = i + 1;
        return (
          <li
            class={n < props.step ? "done" : n === props.step ? "current" : undefined}
            aria-current={n === props.step ? "step" : undefined}
          >
            <span class="step-num" aria-hidden="true">
              {n < props.step ? "✓" : n}
            </span>
            <span>
              {label}
              {n < props.step && <span class="visually-hidden"> (done)</span>}
            </span>
          </li>
        );
      })}
    </ol>
  );
}

/** What earlier (or later) steps chose, carried along. Never a secret value: only names. */
function Carried(props: { step: WizardStep; state: WizardState }) {
  const visible = new Set<string>(props.step === 1 || props.step === 2 ? STEP_FIELDS[props.step] : []);
  return (
    <>
      {WIZARD_FIELDS.filter((f) => !visible.has(f) && props.state[f] !== "").map((f) => (
        <input type="hidden" name={f} value={props.state[f]} />
      ))}
      {props.step !== 3 &&
        Object.entries(props.state.refs).map(([env, name]) => <input type="hidden" name={`ref_${env}`} value={name} />)}
    </>
  );
}

function Actions(props: { step: WizardStep }) {
  // the primary button comes first in the markup, so Enter in a field moves forward, not back
  return (
    <div class="form-actions wizard-actions">
      {props.step === 4 ? (
        <button type="submit" name="go" value="deploy" class="btn-primary">
          Deploy
        </button>
      ) : (
        <button type="submit" name="go" value="next" class="btn-primary">
          Next
        </button>
      )}
      <span class="wizard-back">
        {props.step > 1 && (
          <button type="submit" name="go" value="back" formnovalidate>
            Back
          </button>
        )}
        <a class="btn btn-ghost" href="/bots">
          Cancel
        </a>
      </span>
    </div>
  );
}

function Radio(props: { name: string; value: string; checked: boolean; id: string; label: string; hint?: string }) {
  return (
    <div class="choice">
      <input type="radio" id={props.id} name={props.name} value={props.value} checked={props.checked} />
      <label for={props.id}>
        <span class="choice-label">{props.label}</span>
        {props.hint && <span class="choice-hint">{props.hint}</span>}
      </label>
    </div>
  );
}

function Checkbox(props: { name: string; checked: boolean; label: string; hint?: string }) {
  const id = `f-${props.name}`;
  return (
    <div class="choice">
      <input type="checkbox" id={id} name={props.name} value="on" checked={props.checked} />
      <label for={id}>
        <span class="choice-label">{props.label}</span>
        {props.hint && <span class="choice-hint">{props.hint}</span>}
      </label>
    </div>
  );
}

/** How each target choice reads on step 1. */
const labelOf = (kind: string) => PROVIDER_MODULES.find((m) => m.kind === kind)?.label ?? kind;

/** The wizard's choices: the registry names the providers; a host's provider follows its init system. */
const TARGET_TEXT: Record<WizardTarget, { label: string; hint: string }> = {
  local: { label: labelOf("local"), hint: "A process next to Molthub, with the OpenClaw version below installed from npm." },
  docker: { label: labelOf("docker"), hint: "A hardened container from a pinned image on this machine's Docker engine." },
  host: {
    label: "A host over SSH",
    hint: "A systemd unit (or a macOS LaunchAgent) on one of your hosts, reached through a pinned SSH connection.",
  },
};

/** A step's form: the carried state, with what was just typed (and refused) over it. */
function stepForm(state: WizardState, form: FormState): FormState {
  return { ...form, values: { ...state, ...form.values } as unknown as Record<string, string> };
}

function StepTarget(props: { state: WizardState; form: FormState; hosts: TargetHost[] }) {
  const s = props.state;
  const f = stepForm(s, props.form);
  return (
    <>
      <Field
        label="Name"
        name="name"
        form={f}
        required
        maxlength={63}
        pattern="[a-z0-9]([a-z0-9\-]{0,61}[a-z0-9])?"
        autocomplete="off"
        hint="Lowercase letters, digits and dashes. It names the bot everywhere: in the CLI, the API and its container or process."
      />
      <fieldset class="wizard-target">
        <legend>Where it runs</legend>
        <div class="choices">
          {WIZARD_TARGETS.map((t) => (
            // "This machine" is the default choice: checked unless another one is
            <Radio
              name="provider"
              value={t}
              id={`p-${t}`}
              checked={t === "local" ? s.provider !== "docker" && s.provider !== "host" : s.provider === t}
              label={TARGET_TEXT[t].label}
              hint={TARGET_TEXT[t].hint}
            />
          ))}
        </div>
        {props.form.errors.provider && <p class="field-error">{props.form.errors.provider}</p>}
        <div class="target-host">
          {props.hosts.length ? (
            <SelectField
              label="Host"
              name="host"
              form={f}
              value={s.host}
              options={props.hosts.map((h) => ({
                value: h.name,
                label: `${h.name} — ${providerForInit(h.init)}${h.status === "ok" ? "" : ` (${h.status})`}`,
              }))}
            />
          ) : (
            <p class="muted small">
              No host with a confirmed key yet: <a href="/hosts">add one under Hosts</a> first.
            </p>
          )}
        </div>
        <div class="target-local">
          <Field
            label="OpenClaw version"
            name="version"
            form={f}
            maxlength={40}
            hint="A release like 2026.9.6. Used when the bot runs on this machine or on a host."
          />
        </div>
        <div class="target-docker form-row">
          <Field
            label="Image"
            name="image"
            form={f}
            maxlength={300}
            hint="Pinned: a version tag or a digest, never :latest. Used with Docker."
          />
          <SelectField
            label="Network"
            name="network"
            form={f}
            value={s.network}
            options={[
              { value: "host", label: "host — loopback on this machine" },
              { value: "bridge", label: "bridge — isolated, reached through a relay" },
            ]}
          />
        </div>
      </fieldset>
      <div class="form-row">
        <Field
          label="Fleet"
          name="fleet"
          form={f}
          optional
          maxlength={63}
          autocomplete="off"
          hint="Groups bots for rollouts, e.g. homelab."
        />
        <Field
          label="Environment"
          name="environment"
          form={f}
          optional
          maxlength={63}
          autocomplete="off"
          hint="e.g. prod or staging."
        />
      </div>
      <Field
        label="Labels"
        name="labels"
        form={f}
        optional
        maxlength={1000}
        autocomplete="off"
        hint="key=value pairs separated by commas, e.g. team=support, tier=gold."
      />
    </>
  );
}

function StepModel(props: { state: WizardState; form: FormState }) {
  const s = props.state;
  const f = stepForm(s, props.form);
  return (
    <>
      <Field
        label="Model"
        name="model"
        form={f}
        required
        maxlength={200}
        list="model-options"
        autocomplete="off"
        hint="provider/model, e.g. anthropic/claude-sonnet-4-5 or openai/gpt-5. The provider's API key is asked for next."
      />
      <datalist id="model-options">
        {MODEL_SUGGESTIONS.map((m) => (
          <option value={m}></option>
        ))}
      </datalist>
      <fieldset>
        <legend>Channels</legend>
        <p class="hint">
          Where people talk to the bot. Each needs a token, asked for in the next step. You can add channels later in the
          manifest.
        </p>
        <div class="choices">
          <Checkbox
            name="telegram"
            checked={s.telegram === "on"}
            label="Telegram"
            hint="A bot token from @BotFather (TELEGRAM_BOT_TOKEN)."
          />
          <Checkbox
            name="discord"
            checked={s.discord === "on"}
            label="Discord"
            hint="A bot token from the Discord developer portal (DISCORD_BOT_TOKEN)."
          />
          <Checkbox
            name="slack"
            checked={s.slack === "on"}
            label="Slack"
            hint="A bot token (xoxb-…) and an app-level token (xapp-…) for Socket Mode."
          />
        </div>
      </fieldset>
      <div class="form-row">
        <SelectField
          label="Direct messages"
          name="dmPolicy"
          form={f}
          value={s.dmPolicy}
          options={[
            { value: "pairing", label: "Pairing — a stranger gets a code you approve" },
            { value: "allowlist", label: "Allowlist — only the sender IDs below" },
            { value: "disabled", label: "Disabled — no direct messages" },
          ]}
          hint="Applies to every channel you picked."
        />
        <Field
          label="Allowed sender IDs"
          name="allowFrom"
          form={f}
          optional
          maxlength={2000}
          autocomplete="off"
          hint="For the allowlist: user IDs separated by commas."
        />
      </div>
    </>
  );
}

function StepSecrets(props: { data: WizardData }) {
  const { state, form, needs, secrets } = props.data;
  const existing = new Set(secrets);
  return (
    <>
      <p class="card-sub">
        For each key the bot needs, pick a stored secret or enter a new value. New values are stored encrypted when you continue
        and are never shown again; the bot's config only names the environment variable.
      </p>
      {props.data.unknownProvider && (
        <Alert kind="info">
          Molthub does not know which key the model provider <code>{props.data.unknownProvider}</code> needs. Add it to the
          manifest's <code>spec.secrets</code> after the bot is created, if it needs one.
        </Alert>
      )}
      {needs.length === 0 && <p>This bot needs no secrets.</p>}
      {needs.map((n) => {
        const picked = form.values[`ref_${n.env}`] ?? state.refs[n.env] ?? (existing.has(n.suggest) ? n.suggest : "");
        return (
          <fieldset class="secret-need">
            <legend>
              <code>{n.env}</code> <span class="muted">— {n.what}</span>
            </legend>
            <SelectField
              label="Stored secret"
              name={`ref_${n.env}`}
              form={form}
              value={picked}
              options={[{ value: "", label: "— store a new value (below) —" }, ...secrets.map((s) => ({ value: s, label: s }))]}
            />
            <div class="form-row">
              <Field
                label="New secret name"
                name={`newname_${n.env}`}
                form={form}
                value={form.values[`newname_${n.env}`] ?? n.suggest}
                maxlength={63}
                autocomplete="off"
                hint="Storing under a name that exists replaces its value (a new version)."
              />
              <Field
                label="New value"
                name={`value_${n.env}`}
                type="password"
                form={form}
                autocomplete="off"
                maxlength={65536}
                hint="Leave empty to use the stored secret above."
              />
            </div>
          </fieldset>
        );
      })}
    </>
  );
}

function StepReview(props: { data: WizardData }) {
  const r = props.data.review;
  return (
    <>
      {r?.error && <ProblemList title={r.error.message} problems={r.error.problems} />}
      <PolicyResults result={r?.policy} />
      <p class="card-sub">
        This is the manifest Molthub stores as revision 1. Deploying creates the bot and starts it; you can follow the progress on
        its page.
      </p>
      <h3>Manifest</h3>
      <pre class="code-block">
        <code>{r?.yaml ?? ""}</code>
      </pre>
      <h3>Generated config (dry run)</h3>
      <ChangesTable
        changes={r?.changes ?? []}
        caption="Config the bot starts with"
        empty="The dry run could not produce a config."
      />
    </>
  );
}

/** Step 1's other way in: a bot from a template (built-in or the workspace's own, on the Templates page). */
function StartFromTemplate() {
  return (
    <aside class="wizard-templates" aria-label="Start from a template">
      <p>
        Or start from a template:{" "}
        {BUILTIN_TEMPLATES.map((t, n) => (
          <>
            {n > 0 && ", "}
            <a href={`/templates/${t.metadata.name}#create`}>{t.metadata.title}</a>
          </>
        ))}
        {" — or "}
        <a href="/templates">all templates</a>.
      </p>
    </aside>
  );
}

export function WizardPage(props: { data: WizardData }) {
  const d = props.data;
  const fields =
    d.step === 1
      ? [...STEP_FIELDS[1]]
      : d.step === 2
        ? [...STEP_FIELDS[2]]
        : d.step === 3
          ? Object.keys(d.form.errors).filter((k) => k !== "(form)")
          : [];
  return (
    <>
      <Crumbs trail={[{ href: "/bots", label: "Bots" }]} here="New bot" />
      <PageHead title="New bot" lead="Five short steps from a name to a running OpenClaw gateway." />
      <Stepper step={d.step} />
      {d.step === 1 && <StartFromTemplate />}
      <form method="post" action="/bots/new" class="card wizard-form" aria-labelledby="step-h">
        <h2 id="step-h">
          Step {d.step} of {STEPS.length}: {STEPS[d.step - 1]}
        </h2>
        <FormMessage form={d.form} fields={fields} />
        <input type="hidden" name="step" value={String(d.step)} />
        <Carried step={d.step} state={d.state} />
        <div class="stack">
          {d.step === 1 && <StepTarget state={d.state} form={d.form} hosts={d.hosts ?? []} />}
          {d.step === 2 && <StepModel state={d.state} form={d.form} />}
          {d.step === 3 && <StepSecrets data={d} />}
          {d.step === 4 && <StepReview data={d} />}
        </div>
        <Actions step={d.step} />
      </form>
    </>
  );
}

export function WizardNotAllowed() {
  return (
    <>
      <PageHead title="New bot" />
      <Alert kind="info">
        Only operators, admins and owners can create bots. Ask one of them, or look around the existing bots.
      </Alert>
      <p>
        <a href="/bots">Back to the bots</a>
      </p>
    </>
  );
}
