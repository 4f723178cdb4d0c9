/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { type Role, roleRank } from "../../core/context.ts";

/** What a form shows again after a failed submit: the typed values (never passwords), field errors and a message. */
export interface FormState {
  values: Record<string, string>;
  errors: Record<string, string>;
  message?: string;
}

export const emptyForm = (values: Record<string, string> = {}): FormState => ({ values, errors: {} });

export type FlashKind = "ok" | "error" | "info" | "warn";
export interface Flash {
  kind: FlashKind;
  text: string;
}

export function Alert(props: { kind: FlashKind; title?: string; children?: Child }) {
  // errors interrupt (role=alert); confirmations are announced politely
  const role = props.kind === "error" ? "alert" : "status";
  return (
    <div class={`alert alert-${props.kind}`} role={role}>
      <div>
        {props.title && <div class="alert-title">{props.title}</div>}
        {props.children}
      </div>
    </div>
  );
}

/** The message of a failed form, with the field errors that have no field on the form listed under it. */
export function FormMessage(props: { form: FormState; fields?: string[] }) {
  const { form } = props;
  if (!form.message && Object.keys(form.errors).length === 0) return null;
  const known = new Set(props.fields ?? []);
  const loose = Object.entries(form.errors).filter(([k]) => !known.has(k));
  return (
    <Alert kind="error" title={form.message ?? "Check the highlighted fields."}>
      {loose.length > 0 && (
        <ul>
          {loose.map(([k, m]) => (
            <li>{k === "(form)" ? m : `${k}: ${m}`}</li>
          ))}
        </ul>
      )}
    </Alert>
  );
}

/** One problem found in a manifest, named by document and path. */
export interface ManifestProblem {
  doc: string;
  path: string;
  message: string;
}

/** A failed check's message with the problems under it, path by path (and by document where there are several). */
export function ProblemList(props: { title: string; problems: { doc?: string; path: string; message: string }[] }) {
  return (
    <Alert kind="error" title={props.title}>
      {props.problems.length > 0 && (
        <ul class="problems">
          {props.problems.map((p) => (
            <li>
              {p.doc && <span class="muted">{p.doc}: </span>}
              <code>{p.path}</code> — {p.message}
            </li>
          ))}
        </ul>
      )}
    </Alert>
  );
}

interface FieldProps {
  label: string;
  name: string;
  form?: FormState;
  type?: string;
  value?: string;
  hint?: Child;
  required?: boolean;
  optional?: boolean;
  id?: string;
  [attr: string]: unknown;
}

/** The ids of a field's hint and error, for its aria-describedby. */
function describedByOf(id: string, hint: Child | undefined, error: string | undefined): string | undefined {
  return [hint ? `${id}-hint` : "", error ? `${id}-error` : ""].filter(Boolean).join(" ") || undefined;
}

/** A field's hint and error under its control, with the ids `describedByOf` names. */
function FieldNotes(props: { id: string; hint?: Child; error?: string }) {
  return (
    <>
      {props.hint && (
        <p class="hint" id={`${props.id}-hint`}>
          {props.hint}
        </p>
      )}
      {props.error && (
        <p class="field-error" id={`${props.id}-error`}>
          {props.error}
        </p>
      )}
    </>
  );
}

/** A labelled input with its hint and error wired up through aria-describedby. */
export function Field(props: FieldProps) {
  const { label, name, form, type = "text", value, hint, required, optional, id: givenId, ...rest } = props;
  const id = givenId ?? `f-${name}`;
  const error = form?.errors[name];
  const shown = type === "password" ? undefined : (value ?? form?.values[name]);
  const describedBy = describedByOf(id, hint, error);
  return (
    <div class="field">
      <label for={id}>
        {label}
        {optional && <span class="optional"> (optional)</span>}
      </label>
      <input
        id={id}
        name={name}
        type={type}
        value={shown}
        required={required}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy}
        {...rest}
      />
      <FieldNotes id={id} hint={hint} error={error} />
    </div>
  );
}

export function SelectField(props: {
  label: string;
  name: string;
  options: { value: string; label: string }[];
  form?: FormState;
  value?: string;
  hint?: Child;
  id?: string;
  required?: boolean;
}) {
  const id = props.id ?? `f-${props.name}`;
  const error = props.form?.errors[props.name];
  const selected = props.value ?? props.form?.values[props.name];
  const describedBy = describedByOf(id, props.hint, error);
  return (
    <div class="field">
      <label for={id}>{props.label}</label>
      <select
        id={id}
        name={props.name}
        required={props.required}
        aria-invalid={error ? "true" : undefined}
        aria-describedby={describedBy}
      >
        {props.options.map((o) => (
          <option value={o.value} selected={o.value === selected}>
            {o.label}
          </option>
        ))}
      </select>
      <FieldNotes id={id} hint={props.hint} error={error} />
    </div>
  );
}

/** Operators and above run bots and hosts; viewers only look. */
export function canOperate(role: Role | null | undefined): boolean {
  return roleRank(role) >= roleRank("operator");
}

export function RoleBadge(props: { role: Role | null | undefined }) {
  if (!props.role) return <span class="badge">no role</span>;
  return <span class={`badge badge-${props.role}`}>{props.role}</span>;
}

/** Dates are shown in UTC, the same clock the audit log and the API use. */
function formatTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 16)} UTC`;
}

/** A timestamp; `date` shows only the day (the full time is in the tooltip), for narrow tables. */
export function Time(props: { ms: number | null | undefined; empty?: string; date?: boolean }) {
  if (props.ms === null || props.ms === undefined) return <span class="muted">{props.empty ?? "—"}</span>;
  const full = formatTime(props.ms);
  return (
    <time datetime={new Date(props.ms).toISOString()} class="nowrap" title={props.date ? full : undefined}>
      {props.date ? full.slice(0, 10) : full}
    </time>
  );
}

export function PageHead(props: { title: string; lead?: Child; children?: Child }) {
  return (
    <div class="page-head">
      <div>
        <h1>{props.title}</h1>
        {props.lead && <p>{props.lead}</p>}
      </div>
      {props.children}
    </div>
  );
}

/** One labelled figure in a `stats` row of a detail page, with an optional note under it. */
export function Stat(props: { label: Child; note?: Child; children?: Child }) {
  return (
    <div class="stat">
      <span class="stat-label">{props.label}</span>
      <span class="stat-value-sm">{props.children}</span>
      {props.note !== undefined && <span class="stat-note">{props.note}</span>}
    </div>
  );
}

/** A breadcrumb trail: each step links to a page above this one; the last names this page. */
export function Crumbs(props: { trail: { href: string; label: Child }[]; here: Child }) {
  return (
    <nav class="crumbs" aria-label="Breadcrumb">
      {props.trail.map((c) => (
        <>
          <a href={c.href}>{c.label}</a> <span aria-hidden="true">/</span>{" "}
        </>
      ))}
      <span aria-current="page">{props.here}</span>
    </nav>
  );
}

/**
 * A form that edits one YAML (or JSON) document, with Preview and Save buttons that submit `mode`. The form's
 * hidden inputs go in `children`.
 */
export function DocumentEditorForm(props: {
  action: string;
  id: string;
  name: string;
  label: string;
  text: string;
  hint: Child;
  /** The hint's id; `${id}-hint` unless given. */
  hintId?: string;
  rows?: number;
  placeholder?: string;
  invalid?: boolean;
  saveLabel?: string;
  children?: Child;
}) {
  const hintId = props.hintId ?? `${props.id}-hint`;
  return (
    <form method="post" action={props.action} class="stack">
      {props.children}
      <div class="field">
        <label for={props.id}>{props.label}</label>
        <textarea
          id={props.id}
          name={props.name}
          class="code-input"
          rows={props.rows ?? 16}
          spellcheck={false}
          autocomplete="off"
          required
          placeholder={props.placeholder}
          aria-invalid={props.invalid ? "true" : undefined}
          aria-describedby={hintId}
        >
          {props.text}
        </textarea>
        <p class="hint" id={hintId}>
          {props.hint}
        </p>
      </div>
      <div class="form-actions">
        <button type="submit" name="mode" value="preview">
          Preview
        </button>
        <button type="submit" name="mode" value="save" class="btn-primary">
          {props.saveLabel ?? "Save"}
        </button>
      </div>
    </form>
  );
}

export function EmptyState(props: { title: string; children?: Child; icon?: Child }) {
  return (
    <div class="empty">
      <div class="empty-icon" aria-hidden="true">
        {props.icon ?? <BoxIcon />}
      </div>
      <h2>{props.title}</h2>
      {props.children}
    </div>
  );
}

export function BoxIcon() {
  return (
    <svg
      viewBox="0 0 24 24"
      fill="none"
      stroke="currentColor"
      stroke-width="1.8"
      stroke-linecap="round"
      stroke-linejoin="round"
      focusable="false"
      aria-hidden="true"
    >
      <path d="M21 8 12 3 3 8v8l9 5 9-5V8Z" />
      <path d="m3 8 9 5 9-5M12 13v8" />
    </svg>
  );
}

/** The brand mark: a stylised claw. */
export function BrandMark() {
  return (
    <span class="brand-mark" aria-hidden="true">
      <svg
        viewBox="0 0 24 24"
        fill="none"
        stroke="currentColor"
        stroke-width="2.2"
        stroke-linecap="round"
        stroke-linejoin="round"
        focusable="false"
        aria-hidden="true"
      >
        <path d="M7 20c-2.5-3-3-8 0-12 1.5-2 4-3 6-2.5" />
        <path d="M13 5.5c3 .5 5 3 4.5 6-2-.5-3.5-2-4.5-3.5" />
        <path d="M9 13c1.5 1 3.5 1.5 5.5 1" />
      </svg>
    </span>
  );
}

/** Role labels for selects: each names what the role adds to the one below it. */
export const ROLE_LABEL: Record<Role, string> = {
  viewer: "Viewer — read the workspace",
  operator: "Operator — also operate bots",
  admin: "Admin — also manage members and configuration",
  owner: "Owner — everything, incl. instance settings",
};

/** A copy-to-clipboard button for the element with the given id. */
export function CopyButton(props: { target: string; label?: string }) {
  // hidden until app.js can make it work: no JavaScript, no button
  return (
    <button type="button" class="btn-sm" data-copy={props.target} hidden>
      {props.label ?? "Copy"}
    </button>
  );
}
