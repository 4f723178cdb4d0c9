import { sqliteTable, text, integer, primaryKey, index, uniqueIndex } from "drizzle-orm/sqlite-core";

/** Timestamps are unix epoch milliseconds (integers) everywhere. */

export const users = sqliteTable("users", {
  id: text("id").primaryKey(),
  email: text("email").notNull(),
  name: text("name").notNull(),
  passwordHash: text("password_hash").notNull(),
  /** TOTP secret, encrypted with the appliance key (see secrets/keyring). */
  totpSecretEnc: text("totp_secret_enc"),
  totpEnabled: integer("totp_enabled", { mode: "boolean" }).notNull().default(false),
  passwordChangedAt: integer("password_changed_at").notNull(),
  createdAt: integer("created_at").notNull(),
}, (t) => [uniqueIndex("users_email_uq").on(t.email)]);

export const workspaces = sqliteTable("workspaces", {
  id: text("id").primaryKey(),
  slug: text("slug").notNull(),
  name: text("name").notNull(),
  createdAt: integer("created_at").notNull(),
}, (t) => [uniqueIndex("workspaces_slug_uq").on(t.slug)]);

export const memberships = sqliteTable("memberships", {
  workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
  userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  role: text("role", { enum: ["owner", "admin", "operator", "viewer"] }).notNull(),
  createdAt: integer("created_at").notNull(),
}, (t) => [primaryKey({ columns: [t.workspaceId, t.userId] }), index("memberships_user_idx").on(t.userId)]);

export const sessions = sqliteTable("sessions", {
  /** sha256 of the cookie value; the cookie value itself is never stored. */
  id: text("id").primaryKey(),
  userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
  workspaceId: text("workspace_id"),
  /** true until the second factor was given. */
  mfaPending: integer("mfa_pending", { mode: "boolean" }).notNull().default(false),
  createdAt: integer("created_at").notNull(),
  expiresAt: integer("expires_at").notNull(),
  lastSeenAt: integer("last_seen_at").notNull(),
  ip: text("ip"),
  userAgent: text("user_agent"),
}, (t) => [index("sessions_user_idx").on(t.userId)]);

export const apiTokens = sqliteTable("api_tokens", {
  id: text("id").primaryKey(),
  workspaceId: text("workspace_id").notNull().references(() => workspaces.id, { onDelete: "cascade" }),
  userId: text("user_id").notNull().references(() => users.id, { onDelete: "cascade" }),
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
}, (t) => [uniqueIndex("api_tokens_hash_uq").on(t.tokenHash), index("api_tokens_ws_idx").on(t.workspaceId)]);

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

export const auditLog = sqliteTable("audit_log", {
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
}, (t) => [
  index("audit_ws_ts_idx").on(t.workspaceId, t.id),
  index("audit_actor_idx").on(t.actorId),
  index("audit_action_idx").on(t.action),
  index("audit_resource_idx").on(t.resourceType, t.resourceId),
]);

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
