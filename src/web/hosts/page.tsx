/** @jsxImportSource hono/jsx */
import { type Role, roleRank } from "../../core/context.ts";
import type { HostEventView, HostView } from "../../services/hosts.ts";
import {
  Alert,
  CopyButton,
  canOperate,
  EmptyState,
  Field,
  FormMessage,
  type FormState,
  PageHead,
  Stat,
  Time,
} from "../ui/components.tsx";

const canAdminHosts = (role: Role | null | undefined) => roleRank(role) >= roleRank("admin");

const STATUS_KIND: Record<HostView["status"], string> = {
  ok: "badge-ok",
  degraded: "badge-warn",
  untrusted: "badge-info",
  unreachable: "badge-danger",
  auth_failed: "badge-danger",
  key_mismatch: "badge-danger",
};
const STATUS_LABEL: Record<HostView["status"], string> = {
  ok: "ok",
  degraded: "degraded",
  untrusted: "key not confirmed",
  unreachable: "unreachable",
  auth_failed: "login refused",
  key_mismatch: "host key changed",
};
const LEVEL_KIND: Record<string, string> = { ok: "badge-ok", info: "", warn: "badge-warn", error: "badge-danger" };

function HostStatusBadge(props: { status: HostView["status"] }) {
  return <span class={`badge ${STATUS_KIND[props.status] ?? ""}`.trim()}>{STATUS_LABEL[props.status] ?? props.status}</span>;
}

function Fingerprint(props: { fp: string | null; empty?: string }) {
  if (!props.fp) return <span class="muted">{props.empty ?? "not confirmed"}</span>;
  return <code class="fingerprint">{props.fp}</code>;
}

// ---------- list ----------

export interface HostsListData {
  hosts: HostView[];
  role: Role | null;
  form: FormState;
}

function HostsTable(props: { hosts: HostView[] }) {
  return (
    <div class="table-wrap">
      <table>
        <caption class="visually-hidden">Hosts</caption>
        <thead>
          <tr>
            <th scope="col">Name</th>
            <th scope="col">Status</th>
            <th scope="col">Login</th>
            <th scope="col">Host key fingerprint</th>
            <th scope="col">Last seen</th>
            <th scope="col">Bots</th>
          </tr>
        </thead>
        <tbody>
          {props.hosts.map((h) => (
            <tr>
              <td>
                <a href={`/hosts/${h.name}`}>{h.name}</a>
              </td>
              <td class="status-cell">
                <span class="status-line">
                  <HostStatusBadge status={h.status} />
                  {h.statusReason && <span class="status-reason">{h.statusReason}</span>}
                </span>
              </td>
              <td>
                <code>{`${h.username}@${h.address}:${h.port}`}</code>
              </td>
              <td>
                <Fingerprint fp={h.fingerprint} />
              </td>
              <td>
                <Time ms={h.lastSeenAt} empty="never" />
              </td>
              <td>{h.bots}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function AddHostForm(props: { form: FormState }) {
  const f = props.form;
  return (
    <form method="post" action="/hosts" class="stack" aria-labelledby="add-host-h">
      <FormMessage form={f} fields={["name", "address", "port", "username", "privateKey"]} />
      <div class="grid-2">
        <Field
          label="Name"
          name="name"
          form={f}
          required
          hint="How bots refer to it: spec.target.host. Lowercase letters, digits and dashes."
          autocomplete="off"
        />
        <Field label="Address" name="address" form={f} required hint="DNS name or IP address of the host." autocomplete="off" />
        <Field
          label="SSH user"
          name="username"
          form={f}
          required
          hint="A normal user (bots run as user units; lingering needed) or root (system units)."
          autocomplete="off"
        />
        <Field label="SSH port" name="port" form={f} optional type="number" min="1" max="65535" placeholder="22" />
      </div>
      <div class="field">
        <label for="f-privateKey">
          Private key<span class="optional"> (optional)</span>
        </label>
        <textarea
          id="f-privateKey"
          name="privateKey"
          rows={4}
          spellcheck={false}
          autocomplete="off"
          aria-describedby="f-privateKey-hint"
          aria-invalid={f.errors.privateKey ? "true" : undefined}
        ></textarea>
        <p class="hint" id="f-privateKey-hint">
          Leave empty and Molthub generates an ed25519 key for this host (recommended). An uploaded key must be unencrypted; it is
          stored encrypted and never shown again.
        </p>
        {f.errors.privateKey && (
          <p class="field-error" id="f-privateKey-error">
            {f.errors.privateKey}
          </p>
        )}
      </div>
      <div class="form-actions">
        <button type="submit" class="btn-primary">
          Add host
        </button>
      </div>
    </form>
  );
}

export function HostsListPage(props: { data: HostsListData }) {
  const { hosts, role, form } = props.data;
  return (
    <>
      <PageHead
        title="Hosts"
        lead="Linux and macOS machines Molthub reaches over SSH to run bots as systemd units or LaunchAgents. Nothing to install but OpenClaw."
      />
      {hosts.length ? (
        <HostsTable hosts={hosts} />
      ) : (
        <EmptyState title="No hosts yet">
          <p>
            Add a host below; then bots can target it with <code>spec.target: {"{ provider: systemd, host: NAME }"}</code>.
          </p>
        </EmptyState>
      )}
      {canAdminHosts(role) ? (
        <section class="card section" aria-labelledby="add-host-h">
          <h2 id="add-host-h">Add a host</h2>
          <p class="card-sub">
            Next you copy the public key into the host's <code>authorized_keys</code> and confirm the host key fingerprint.
          </p>
          <AddHostForm form={form} />
        </section>
      ) : (
        <p class="muted section">Adding hosts needs the admin role.</p>
      )}
    </>
  );
}

// ---------- one host ----------

export interface HostPageData {
  host: HostView;
  role: Role | null;
  bots: { name: string; provider: string; status: string }[];
  events: HostEventView[];
  error?: string;
  /** just added: lead the user through the key and the fingerprint */
  added?: boolean;
}

function TrustForm(props: { name: string; fingerprint: string }) {
  return (
    <form method="post" action={`/hosts/${props.name}/trust`} class="inline-form">
      <input type="hidden" name="fingerprint" value={props.fingerprint} />
      <button type="submit" class="btn-primary">
        I confirmed this fingerprint
      </button>
    </form>
  );
}

function RetrustForm(props: { name: string }) {
  return (
    <form
      method="post"
      action={`/hosts/${props.name}/trust`}
      class="stack"
      data-confirm="Pin the new host key? Only do this if you verified it on the host."
    >
      <Field
        label="New fingerprint, as you verified it on the host"
        name="fingerprint"
        id="f-retrust"
        required
        placeholder="SHA256:…"
        autocomplete="off"
        spellcheck={false}
        hint={
          <>
            On the host: <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code>. Paste the SHA256 value; it must match what
            the host presents.
          </>
        }
      />
      <div class="form-actions">
        <button type="submit" class="btn-danger">
          Re-trust the new key
        </button>
      </div>
    </form>
  );
}

function KeyCard(props: { host: HostView; role: Role | null }) {
  const h = props.host;
  const admin = canAdminHosts(props.role);
  return (
    <section class="card section" aria-labelledby="key-h">
      <h2 id="key-h">SSH access</h2>
      <p class="label">
        1. Add this public key to <code>~{h.username}/.ssh/authorized_keys</code> on {h.address}
      </p>
      <div class="secret-box">
        <code id="host-pubkey" class="pubkey">
          {h.publicKey}
        </code>
        <CopyButton target="host-pubkey" />
      </div>
      <p class="muted small">
        {h.authKind === "generated"
          ? "Generated by Molthub for this host; the private key stays encrypted in Molthub."
          : "From the private key you uploaded (stored encrypted, never shown)."}
      </p>
      <p class="label">2. Confirm the host key</p>
      {h.status === "key_mismatch" ? (
        <>
          <Alert kind="error" title="The host key changed. Connections are refused before logging in.">
            <dl class="kv">
              <dt>Pinned</dt>
              <dd>
                <Fingerprint fp={h.fingerprint} />
              </dd>
              <dt>Presented now</dt>
              <dd>
                <Fingerprint fp={h.seenFingerprint} empty="unknown" />
              </dd>
            </dl>
            If the host was reinstalled or its key rotated on purpose, verify the new fingerprint on the host and re-trust it.
            Otherwise treat this as a possible man-in-the-middle and do not re-trust.
          </Alert>
          {admin ? <RetrustForm name={h.name} /> : <p class="muted">Re-trusting needs the admin role.</p>}
        </>
      ) : h.fingerprint ? (
        <p>
          Pinned: <Fingerprint fp={h.fingerprint} />
        </p>
      ) : h.seenFingerprint ? (
        <>
          <p>
            The host presents this key. Compare it with the output of{" "}
            <code>ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub</code> on the host:
          </p>
          <div class="secret-box">
            <code id="host-seen" class="fingerprint">
              {h.seenFingerprint}
            </code>
            <CopyButton target="host-seen" />
          </div>
          {admin ? (
            <TrustForm name={h.name} fingerprint={h.seenFingerprint} />
          ) : (
            <p class="muted">Confirming needs the admin role.</p>
          )}
        </>
      ) : (
        <p class="muted">The host key has not been read yet{h.statusReason ? `: ${h.statusReason}` : ""}.</p>
      )}
      {!h.fingerprint && canOperate(props.role) && (
        <form method="post" action={`/hosts/${h.name}/probe`} class="inline-form">
          <button type="submit" class="btn-sm">
            Read the host key again
          </button>
        </form>
      )}
    </section>
  );
}

function FindingsTable(props: { findings: { id: string; level: string; message: string; fix: string }[] }) {
  return (
    <div class="table-wrap">
      <table class="findings">
        <caption class="visually-hidden">Doctor findings</caption>
        <thead>
          <tr>
            <th scope="col">Check</th>
            <th scope="col">Result</th>
            <th scope="col">Finding</th>
            <th scope="col">What to do</th>
          </tr>
        </thead>
        <tbody>
          {props.findings.map((f) => (
            <tr class={`finding-${f.level}`}>
              <td>
                <code>{f.id}</code>
              </td>
              <td>
                <span class={`badge ${LEVEL_KIND[f.level] ?? ""}`.trim()}>{f.level}</span>
              </td>
              <td>{f.message}</td>
              <td>{f.fix ? f.fix : <span class="muted">—</span>}</td>
            </tr>
          ))}
        </tbody>
      </table>
    </div>
  );
}

function EventsList(props: { events: HostEventView[] }) {
  if (!props.events.length) return <p class="muted">No events yet.</p>;
  return (
    <ol class="timeline">
      {props.events.map((e) => (
        <li class={`tl-${e.level}${e.type === "alert" ? " host-alert" : ""}`}>
          <div class="tl-meta">
            <span class={`badge ${LEVEL_KIND[e.level] ?? ""}`.trim()}>{e.type === "alert" ? "alert" : e.level}</span>
            <Time ms={e.ts} />
            <code class="tl-type">{e.type}</code>
          </div>
          <div class="tl-message">{e.message}</div>
          {e.type === "alert" && typeof e.data.old === "string" && (
            <dl class="kv small">
              <dt>Old</dt>
              <dd>
                <code class="fingerprint">{e.data.old}</code>
              </dd>
              <dt>New</dt>
              <dd>
                <code class="fingerprint">{String(e.data.new ?? "")}</code>
              </dd>
            </dl>
          )}
        </li>
      ))}
    </ol>
  );
}

export function HostPage(props: { data: HostPageData }) {
  const { host: h, role, bots, events, error, added } = props.data;
  return (
    <>
      <p class="crumbs">
        <a href="/hosts">Hosts</a> / {h.name}
      </p>
      <PageHead title={h.name} lead={<code>{`${h.username}@${h.address}:${h.port}`}</code>}>
        <span class="status-line">
          <HostStatusBadge status={h.status} />
          {h.statusReason && <span class="status-reason">{h.statusReason}</span>}
        </span>
      </PageHead>
      {error && <Alert kind="error" title={error} />}
      {added && !h.fingerprint && (
        <Alert kind="info" title="Host added. Two steps left:">
          copy the public key to the host, then confirm the host key fingerprint below.
        </Alert>
      )}
      <div class="stats">
        <Stat label="OS">{h.os ?? "—"}</Stat>
        <Stat label="Init">{h.init ?? "—"}</Stat>
        <Stat label="Last seen">
          <Time ms={h.lastSeenAt} empty="never" />
        </Stat>
        <Stat label="Bots">{bots.length}</Stat>
      </div>
      <KeyCard host={h} role={role} />
      <section class="card section" aria-labelledby="doctor-h">
        <div class="section-head">
          <h2 id="doctor-h">Doctor</h2>
          {canOperate(role) && h.fingerprint && (
            <form method="post" action={`/hosts/${h.name}/doctor`} class="inline-form">
              <button type="submit" class="btn-sm">
                Run doctor
              </button>
            </form>
          )}
        </div>
        {h.doctor ? (
          <>
            <p class="muted small">
              Last run <Time ms={h.doctor.ts} />
            </p>
            <FindingsTable findings={h.doctor.findings} />
          </>
        ) : (
          <p class="muted">Not run yet{h.fingerprint ? "." : ": confirm the host key first."}</p>
        )}
      </section>
      <section class="card section" aria-labelledby="bots-h">
        <h2 id="bots-h">Bots on this host</h2>
        {bots.length ? (
          <ul>
            {bots.map((b) => (
              <li>
                <a href={`/bots/${b.name}`}>{b.name}</a>{" "}
                <span class="muted">
                  ({b.provider}, {b.status})
                </span>
              </li>
            ))}
          </ul>
        ) : (
          <p class="muted">
            None. Target it from a manifest: <code>{`spec.target: { provider: systemd, host: ${h.name} }`}</code>
          </p>
        )}
      </section>
      <section class="card section" aria-labelledby="events-h">
        <h2 id="events-h">Events</h2>
        <EventsList events={events} />
      </section>
      {canAdminHosts(role) && (
        <section class="card section" aria-labelledby="delete-h">
          <h2 id="delete-h">Delete</h2>
          {bots.length ? (
            <p class="muted">Delete or move the bots on this host first.</p>
          ) : (
            <form
              method="post"
              action={`/hosts/${h.name}/delete`}
              class="stack"
              data-confirm={`Delete the host ${h.name}? Its key is deleted with it.`}
            >
              <div class="form-actions">
                <button type="submit" class="btn-danger">
                  Delete host
                </button>
              </div>
            </form>
          )}
        </section>
      )}
    </>
  );
}
