/** @jsxImportSource hono/jsx */
import type { Role } from "../../core/context.ts";
import { Field, FormMessage, type FormState, RoleBadge, Time } from "../ui/components.tsx";
import { isAdmin, SettingsFrame } from "./frame.tsx";

/** The Workspace and Instance tabs: the workspace's name, new workspaces, and settings for the whole Molthub. */

export interface WorkspaceData {
  workspace: { name: string; slug: string; createdAt: number };
  role: Role | null;
  rename: FormState;
  create: FormState;
}

export function WorkspacePage(props: { data: WorkspaceData }) {
  const d = props.data;
  const admin = isAdmin(d.role);
  return (
    <SettingsFrame
      path="/settings/workspace"
      lead="A workspace holds its own members, tokens, audit log and (later) bots. Switch between yours at the top of the page."
    >
      <div class="grid-2">
        <section class="card" aria-labelledby="ws-h">
          <h2 id="ws-h">This workspace</h2>
          <dl class="kv">
            <dt>Name</dt>
            <dd>{d.workspace.name}</dd>
            <dt>Slug</dt>
            <dd>
              <code>{d.workspace.slug}</code>
            </dd>
            <dt>Created</dt>
            <dd>
              <Time ms={d.workspace.createdAt} />
            </dd>
            <dt>Your role</dt>
            <dd>
              <RoleBadge role={d.role} />
            </dd>
          </dl>
          {admin && (
            <form method="post" action="/settings/workspace" class="stack section">
              <FormMessage form={d.rename} fields={["name"]} />
              <Field
                label="New name"
                name="name"
                id="rename-name"
                form={d.rename}
                value={d.rename.values.name ?? d.workspace.name}
                required
                maxlength={100}
              />
              <div class="form-actions">
                <button type="submit" class="btn-primary">
                  Rename
                </button>
              </div>
            </form>
          )}
        </section>

        {admin ? (
          <section class="card" aria-labelledby="create-h" id="create">
            <h2 id="create-h">Create a workspace</h2>
            <p class="card-sub">You become its owner, and it becomes your current workspace.</p>
            <FormMessage form={d.create} fields={["name", "slug"]} />
            <form method="post" action="/settings/workspace/create" class="stack">
              <Field label="Name" name="name" id="create-name" form={d.create} required maxlength={100} />
              <Field
                label="Slug"
                name="slug"
                id="create-slug"
                form={d.create}
                optional
                maxlength={40}
                pattern="[a-z0-9][a-z0-9\-]{0,39}"
                hint="Lowercase letters, digits and dashes. Made from the name when empty."
              />
              <div class="form-actions">
                <button type="submit" class="btn-primary">
                  Create workspace
                </button>
              </div>
            </form>
          </section>
        ) : (
          <section class="card">
            <h2>Create a workspace</h2>
            <p class="muted">Only admins and owners can rename this workspace or create new ones.</p>
          </section>
        )}
      </div>
    </SettingsFrame>
  );
}

// ---------- instance ----------

export interface InstanceData {
  auditRetentionDays: number;
  role: Role | null;
  version: string;
  form: FormState;
}

export function InstancePage(props: { data: InstanceData }) {
  const d = props.data;
  const owner = d.role === "owner";
  return (
    <SettingsFrame path="/settings/instance" lead="These settings apply to the whole Molthub, across all workspaces.">
      <div class="grid-2">
        <section class="card" aria-labelledby="about-h">
          <h2 id="about-h">About</h2>
          <dl class="kv">
            <dt>Version</dt>
            <dd>{d.version}</dd>
            <dt>Audit retention</dt>
            <dd>{d.auditRetentionDays === 0 ? "keep everything" : `${d.auditRetentionDays} days`}</dd>
          </dl>
        </section>
        <section class="card" aria-labelledby="retention-h">
          <h2 id="retention-h">Audit retention</h2>
          {owner ? (
            <>
              <FormMessage form={d.form} fields={["auditRetentionDays"]} />
              <form
                method="post"
                action="/settings/instance"
                class="stack"
                data-confirm="Entries older than the new window are deleted now. Continue?"
              >
                <Field
                  label="Keep audit entries for (days)"
                  name="auditRetentionDays"
                  type="number"
                  form={d.form}
                  value={d.form.values.auditRetentionDays ?? String(d.auditRetentionDays)}
                  min={0}
                  max={3650}
                  step={1}
                  required
                  hint="0 keeps everything. A shorter window deletes older entries now; a signed checkpoint keeps the chain verifiable."
                />
                <div class="form-actions">
                  <button type="submit" class="btn-primary">
                    Save
                  </button>
                </div>
              </form>
            </>
          ) : (
            <p class="muted">Only an owner can change instance settings.</p>
          )}
        </section>
      </div>
    </SettingsFrame>
  );
}
