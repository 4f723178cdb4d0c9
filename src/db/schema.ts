import { index, integer, primaryKey, sqliteTable, text, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Timestamps are unix epoch milliseconds (integers) everywhere. */

export const users = sqliteTable(
  "users",
  {
    id: text("id").primaryKey(),
    email: text("email").notNull(),
    name: text("name").notNull(),
    passwordHash: text("password_hash").notNull(),
    /** TOTP secret, encrypted with the appliance key (see secrets/keyring). */
    totpSecretEnc: text("totp_secret_enc"),
    totpEnabled: integer("totp_enabled", { mode: "boolean" }).notNull().default(false),
    passwordChangedAt: integer("password_changed_at").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("users_email_uq").on(t.email)],
);

export const workspaces = sqliteTable(
  "workspaces",
  {
    id: text("id").primaryKey(),
    slug: text("slug").notNull(),
    name: text("name").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("workspaces_slug_uq").on(t.slug)],
);

export const memberships = sqliteTable(
  "memberships",
  {
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    role: text("role", { enum: ["owner", "admin", "operator", "viewer"] }).notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.workspaceId, t.userId] }), index("memberships_user_idx").on(t.userId)],
);

export const sessions = sqliteTable(
  "sessions",
  {
    /** sha256 of the cookie value; the cookie value itself is never stored. */
    id: text("id").primaryKey(),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    workspaceId: text("workspace_id"),
    /** true until the second factor was given. */
    mfaPending: integer("mfa_pending", { mode: "boolean" }).notNull().default(false),
    createdAt: integer("created_at").notNull(),
    expiresAt: integer("expires_at").notNull(),
    lastSeenAt: integer("last_seen_at").notNull(),
    ip: text("ip"),
    userAgent: text("user_agent"),
  },
  (t) => [index("sessions_user_idx").on(t.userId)],
);

export const apiTokens = sqliteTable(
  "api_tokens",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    userId: text("user_id")
      .notNull()
      .references(() => users.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    role: text("role", { enum: ["owner", "admin", "operator", "viewer"] }).notNull(),
    /** sha256 of the secret part; the token is shown once. */
    tokenHash: text("token_hash").notNull(),
    /** first characters of the token, shown in lists so a user can tell tokens apart. */
    prefix: text("prefix").notNull(),
    expiresAt: integer("expires_at"),
    lastUsedAt: integer("last_used_at"),
    revokedAt: integer("revoked_at"),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [uniqueIndex("api_tokens_hash_uq").on(t.tokenHash), index("api_tokens_ws_idx").on(t.workspaceId)],
);

export const setupTokens = sqliteTable("setup_tokens", {
  id: text("id").primaryKey(),
  tokenHash: text("token_hash").notNull(),
  expiresAt: integer("expires_at").notNull(),
  usedAt: integer("used_at"),
  createdAt: integer("created_at").notNull(),
});

export const loginAttempts = sqliteTable("login_attempts", {
  /** "ip:<addr>" or "user:<email>" */
  key: text("key").primaryKey(),
  failures: integer("failures").notNull(),
  lastFailureAt: integer("last_failure_at").notNull(),
  lockedUntil: integer("locked_until").notNull(),
});

export const auditLog = sqliteTable(
  "audit_log",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    ts: integer("ts").notNull(),
    workspaceId: text("workspace_id"),
    actorType: text("actor_type", { enum: ["user", "token", "system", "setup"] }).notNull(),
    actorId: text("actor_id"),
    actorLabel: text("actor_label").notNull(),
    action: text("action").notNull(),
    resourceType: text("resource_type").notNull(),
    resourceId: text("resource_id"),
    requestId: text("request_id"),
    /** redacted JSON summary of the change */
    summary: text("summary").notNull(),
    prevHash: text("prev_hash").notNull(),
    hash: text("hash").notNull(),
  },
  (t) => [
    index("audit_ws_ts_idx").on(t.workspaceId, t.id),
    index("audit_actor_idx").on(t.actorId),
    index("audit_action_idx").on(t.action),
    index("audit_resource_idx").on(t.resourceType, t.resourceId),
  ],
);

/** Written when old audit entries are pruned: verification restarts from here. */
export const auditCheckpoints = sqliteTable("audit_checkpoints", {
  id: integer("id").primaryKey({ autoIncrement: true }),
  /** id and hash of the last pruned entry; the first kept entry's prev_hash must equal it. */
  uptoId: integer("upto_id").notNull(),
  uptoHash: text("upto_hash").notNull(),
  prunedCount: integer("pruned_count").notNull(),
  /** HMAC-SHA256 over upto_id|upto_hash|created_at with the appliance's audit key. */
  signature: text("signature").notNull(),
  createdAt: integer("created_at").notNull(),
});

/** Instance-wide settings as JSON values. */
export const settings = sqliteTable("settings", {
  key: text("key").primaryKey(),
  value: text("value").notNull(),
  updatedAt: integer("updated_at").notNull(),
});

// ---------- bots ----------

export const bots = sqliteTable(
  "bots",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    fleet: text("fleet"),
    environment: text("environment"),
    labels: text("labels").notNull().default("{}"),
    provider: text("provider").notNull(),
    /** target host name for remote providers; "local" otherwise */
    host: text("host").notNull().default("local"),
    port: integer("port").notNull(),
    /** the gateway token, encrypted with the appliance key */
    gatewayTokenEnc: text("gateway_token_enc").notNull(),
    desiredRevision: integer("desired_revision").notNull(),
    /** the revision whose config the gateway last confirmed live */
    appliedRevision: integer("applied_revision"),
    appliedHash: text("applied_hash"),
    /** hash of the env file last delivered (secrets rotate without a new revision) */
    appliedEnvHash: text("applied_env_hash"),
    /** what the operator asked for: running, stopped, paused */
    desiredState: text("desired_state", { enum: ["running", "stopped", "paused"] })
      .notNull()
      .default("running"),
    status: text("status", {
      enum: ["pending", "creating", "starting", "running", "degraded", "stopping", "stopped", "error", "deleting"],
    }).notNull(),
    statusReason: text("status_reason").notNull().default(""),
    /** consecutive failures of the current revision, for backoff */
    failures: integer("failures").notNull().default(0),
    deleting: integer("deleting", { mode: "boolean" }).notNull().default(false),
    /** with the delete: remove the state dir too */
    purge: integer("purge", { mode: "boolean" }).notNull().default(false),
    lastSeenAt: integer("last_seen_at"),
    /**
     * Independent conditions the status is derived from (Ready, ConfigApplied, Drifted, ChannelsConnected,
     * SecretsCurrent, TargetReachable): JSON `{[type]: {status, reason, message, since}}` (src/domain/conditions.ts)
     */
    conditions: text("conditions").notNull().default("{}"),
    /** the secret versions the running gateway was started with: JSON `{[secret name]: version}` */
    appliedSecrets: text("applied_secrets").notNull().default("{}"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("bots_ws_name_uq").on(t.workspaceId, t.name), index("bots_host_port_idx").on(t.host, t.port)],
);

export const botRevisions = sqliteTable(
  "bot_revisions",
  {
    botId: text("bot_id")
      .notNull()
      .references(() => bots.id, { onDelete: "cascade" }),
    revision: integer("revision").notNull(),
    /** the manifest as validated (JSON) */
    manifest: text("manifest").notNull(),
    /** the generated openclaw.json (JSON; no secret values) */
    config: text("config").notNull(),
    configHash: text("config_hash").notNull(),
    /** env var → secret actually delivered (the manifest's own plus those from its template and connectors) */
    secretRefs: text("secret_refs").notNull().default("{}"),
    /** the resolved `openclaw` object (all layers applied); null for revisions from before layers */
    resolved: text("resolved"),
    /** where each resolved openclaw path came from (layers), at the time of the revision */
    provenance: text("provenance").notNull().default("{}"),
    /** "port": Molthub moved the bot off a port another process took (fleet/revisions.ts reallocatePort) */
    source: text("source", { enum: ["apply", "adopt", "ui", "rollback", "layer", "port"] }).notNull(),
    actor: text("actor").notNull(),
    createdAt: integer("created_at").notNull(),
  },
  (t) => [primaryKey({ columns: [t.botId, t.revision] })],
);

export const jobs = sqliteTable(
  "jobs",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    botId: text("bot_id")
      .notNull()
      .references(() => bots.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["reconcile", "start", "stop", "restart", "delete"] }).notNull(),
    state: text("state", { enum: ["queued", "running", "done", "failed", "interrupted", "cancelled"] }).notNull(),
    attempt: integer("attempt").notNull().default(0),
    notBefore: integer("not_before").notNull(),
    requestId: text("request_id"),
    error: text("error"),
    createdAt: integer("created_at").notNull(),
    startedAt: integer("started_at"),
    finishedAt: integer("finished_at"),
  },
  (t) => [index("jobs_state_idx").on(t.state, t.notBefore), index("jobs_bot_idx").on(t.botId, t.state)],
);

export const botEvents = sqliteTable(
  "bot_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    botId: text("bot_id")
      .notNull()
      .references(() => bots.id, { onDelete: "cascade" }),
    ts: integer("ts").notNull(),
    level: text("level", { enum: ["info", "warn", "error"] }).notNull(),
    type: text("type").notNull(),
    message: text("message").notNull(),
    data: text("data").notNull().default("{}"),
  },
  (t) => [index("bot_events_bot_idx").on(t.botId, t.id)],
);

export const healthSnapshots = sqliteTable(
  "health_snapshots",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    botId: text("bot_id")
      .notNull()
      .references(() => bots.id, { onDelete: "cascade" }),
    ts: integer("ts").notNull(),
    ready: integer("ready", { mode: "boolean" }).notNull(),
    data: text("data").notNull(),
  },
  (t) => [index("health_bot_idx").on(t.botId, t.id)],
);

/**
 * The secrets vault. Envelope encryption: `valueEnc` is sealed with a per-secret data key, and `dataKeyEnc`
 * is that data key wrapped by the master key identified by `masterKeyId`. Rows from before the vault
 * (`dataKeyEnc` null) hold a value sealed directly with the appliance key and are re-wrapped at start.
 */
export const secrets = sqliteTable(
  "secrets",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    valueEnc: text("value_enc").notNull(),
    dataKeyEnc: text("data_key_enc"),
    masterKeyId: text("master_key_id"),
    description: text("description").notNull().default(""),
    updatedBy: text("updated_by"),
    version: integer("version").notNull(),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("secrets_ws_name_uq").on(t.workspaceId, t.name)],
);

// ---------- hosts (SSH targets) ----------

export const hosts = sqliteTable(
  "hosts",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    address: text("address").notNull(),
    port: integer("port").notNull().default(22),
    username: text("username").notNull(),
    /** "generated": an ed25519 key made by the appliance; "uploaded": a private key the user gave */
    authKind: text("auth_kind", { enum: ["generated", "uploaded"] }).notNull(),
    /** OpenSSH private key, encrypted with the appliance key */
    privateKeyEnc: text("private_key_enc").notNull(),
    /** the matching public key line (for authorized_keys) */
    publicKey: text("public_key").notNull(),
    /** pinned SHA256 host key fingerprint; null until the user confirmed one */
    fingerprint: text("fingerprint"),
    /** the fingerprint last presented by the host (awaiting confirmation, or the new key of a mismatch) */
    seenFingerprint: text("seen_fingerprint"),
    status: text("status", { enum: ["untrusted", "ok", "unreachable", "auth_failed", "key_mismatch", "degraded"] }).notNull(),
    statusReason: text("status_reason").notNull().default(""),
    os: text("os"),
    /** systemd | launchd | none */
    init: text("init"),
    /** last doctor run: JSON { ts, findings: [...] } */
    doctor: text("doctor").notNull().default("{}"),
    lastSeenAt: integer("last_seen_at"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("hosts_ws_name_uq").on(t.workspaceId, t.name)],
);

export const hostEvents = sqliteTable(
  "host_events",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    hostId: text("host_id")
      .notNull()
      .references(() => hosts.id, { onDelete: "cascade" }),
    ts: integer("ts").notNull(),
    level: text("level", { enum: ["info", "warn", "error"] }).notNull(),
    type: text("type").notNull(),
    message: text("message").notNull(),
    data: text("data").notNull().default("{}"),
  },
  (t) => [index("host_events_host_idx").on(t.hostId, t.id)],
);

// ---------- configuration layers ----------

/** User templates (built-in ones live in code). `spec` is the validated template JSON. */
export const templates = sqliteTable(
  "templates",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    spec: text("spec").notNull(),
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("templates_ws_name_uq").on(t.workspaceId, t.name)],
);

/** Profiles and overlays: `spec` is the validated layer JSON (values, strategies, locked, selector, window, …). */
export const layers = sqliteTable(
  "layers",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    kind: text("kind", { enum: ["profile", "overlay"] }).notNull(),
    name: text("name").notNull(),
    spec: text("spec").notNull(),
    version: integer("version").notNull().default(1),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("layers_ws_kind_name_uq").on(t.workspaceId, t.kind, t.name)],
);

// ---------- policy ----------

/**
 * Policy packs per workspace. Custom packs keep their definition in `spec`; a row for a built-in pack
 * (`builtin` true, `spec` null) only records that it was disabled or its mode changed.
 */
export const policyPacks = sqliteTable(
  "policy_packs",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    packId: text("pack_id").notNull(),
    builtin: integer("builtin", { mode: "boolean" }).notNull().default(false),
    spec: text("spec"),
    enabled: integer("enabled", { mode: "boolean" }).notNull().default(true),
    /** overrides the pack's own mode when set */
    mode: text("mode", { enum: ["enforce", "advisory"] }),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("policy_packs_ws_pack_uq").on(t.workspaceId, t.packId)],
);

export const policyExceptions = sqliteTable(
  "policy_exceptions",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    ruleId: text("rule_id").notNull(),
    /** null: every bot of the workspace */
    botName: text("bot_name"),
    reason: text("reason").notNull(),
    expiresAt: integer("expires_at").notNull(),
    createdBy: text("created_by").notNull(),
    createdAt: integer("created_at").notNull(),
    revokedAt: integer("revoked_at"),
  },
  (t) => [index("policy_exceptions_ws_idx").on(t.workspaceId)],
);

// ---------- connectors ----------

export const connectors = sqliteTable(
  "connectors",
  {
    id: text("id").primaryKey(),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    name: text("name").notNull(),
    /** anthropic | openai | openrouter | ollama | telegram | discord | slack */
    type: text("type").notNull(),
    /** the vault secret holding the credential (null for credential-less types such as ollama) */
    secretName: text("secret_name"),
    /** non-secret settings: baseUrl, … (JSON) */
    settings: text("settings").notNull().default("{}"),
    lastTestAt: integer("last_test_at"),
    lastTestOk: integer("last_test_ok", { mode: "boolean" }),
    lastTestMessage: text("last_test_message"),
    createdAt: integer("created_at").notNull(),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [uniqueIndex("connectors_ws_name_uq").on(t.workspaceId, t.name)],
);

/** Per-bot delivery of a rotated secret version (connector rotation rollouts). */
export const secretRollouts = sqliteTable(
  "secret_rollouts",
  {
    id: integer("id").primaryKey({ autoIncrement: true }),
    workspaceId: text("workspace_id")
      .notNull()
      .references(() => workspaces.id, { onDelete: "cascade" }),
    secretName: text("secret_name").notNull(),
    version: integer("version").notNull(),
    botId: text("bot_id")
      .notNull()
      .references(() => bots.id, { onDelete: "cascade" }),
    state: text("state", { enum: ["pending", "delivered", "failed"] }).notNull(),
    /** how it reached the bot: secrets.reload or restart */
    method: text("method"),
    message: text("message").notNull().default(""),
    updatedAt: integer("updated_at").notNull(),
  },
  (t) => [index("secret_rollouts_idx").on(t.workspaceId, t.secretName, t.version)],
);
