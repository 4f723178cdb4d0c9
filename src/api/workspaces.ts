import { OpenAPIHono, z } from "@hono/zod-openapi";
import type { AppEnv } from "../server/deps.ts";
import { ctxOf } from "../server/deps.ts";
import { apiRoute } from "./route.ts";
import { body, errorResponses, json, OkSchema, RoleSchema } from "./schemas.ts";
import { addMember, createWorkspace, getCurrentWorkspace, listMembers, listMyWorkspaces, removeMember, renameWorkspace, switchWorkspace, updateMemberRole } from "../services/workspaces.ts";
import { getSettings, updateSettings } from "../services/settings.ts";

const WorkspaceSchema = z.object({ id: z.string(), slug: z.string(), name: z.string() }).openapi("Workspace");
const MemberSchema = z.object({ userId: z.string(), email: z.string(), name: z.string(), role: RoleSchema, totpEnabled: z.boolean(), since: z.number() }).openapi("Member");
const UserIdParam = z.object({ userId: z.string().min(1).max(100).openapi({ param: { name: "userId", in: "path" } }) });

export function workspaceRoutes() {
  const app = new OpenAPIHono<AppEnv>();
  const ctx = ctxOf;

  app.openapi(apiRoute("user", {
    method: "get", path: "/api/v1/workspaces", tags: ["workspaces"], summary: "Workspaces you belong to",
    responses: { 200: json(z.object({ items: z.array(WorkspaceSchema.extend({ role: RoleSchema, current: z.boolean() })) })), ...errorResponses },
  }), (c) => c.json({ items: listMyWorkspaces(ctx(c)) }, 200));

  app.openapi(apiRoute("admin", {
    method: "post", path: "/api/v1/workspaces", tags: ["workspaces"], summary: "Create a workspace (you become its owner)",
    request: body(z.strictObject({ name: z.string().min(1).max(100), slug: z.string().regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes").optional() })),
    responses: { 201: json(WorkspaceSchema), ...errorResponses },
  }, { sessionOnly: true }), (c) => c.json(createWorkspace(ctx(c), c.req.valid("json")), 201));

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/workspace", tags: ["workspaces"], summary: "The current workspace",
    responses: { 200: json(WorkspaceSchema.extend({ createdAt: z.number() })), ...errorResponses },
  }), (c) => c.json(getCurrentWorkspace(ctx(c)), 200));

  app.openapi(apiRoute("admin", {
    method: "patch", path: "/api/v1/workspace", tags: ["workspaces"], summary: "Rename the current workspace",
    request: body(z.strictObject({ name: z.string().min(1).max(100) })),
    responses: { 200: json(OkSchema), ...errorResponses },
  }), (c) => {
    renameWorkspace(ctx(c), c.req.valid("json"));
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("user", {
    method: "post", path: "/api/v1/workspace/switch", tags: ["workspaces"], summary: "Make another of your workspaces the session's current one",
    request: body(z.strictObject({ workspace: z.string().min(1).max(100) })),
    responses: { 200: json(OkSchema), ...errorResponses },
  }, { sessionOnly: true }), (c) => {
    switchWorkspace(ctx(c), c.req.valid("json").workspace);
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/members", tags: ["members"], summary: "Members of the current workspace",
    responses: { 200: json(z.object({ items: z.array(MemberSchema) })), ...errorResponses },
  }), (c) => c.json({ items: listMembers(ctx(c)) }, 200));

  app.openapi(apiRoute("admin", {
    method: "post", path: "/api/v1/members", tags: ["members"], summary: "Add a member: an existing user, or a new local user when name and password are given",
    request: body(z.strictObject({ email: z.email(), role: RoleSchema, name: z.string().min(1).max(100).optional(), password: z.string().min(1).max(1000).optional() })),
    responses: { 201: json(MemberSchema), ...errorResponses },
  }), async (c) => c.json(await addMember(ctx(c), c.req.valid("json")), 201));

  app.openapi(apiRoute("admin", {
    method: "patch", path: "/api/v1/members/{userId}", tags: ["members"], summary: "Change a member's role",
    request: { params: UserIdParam, ...body(z.strictObject({ role: RoleSchema })) },
    responses: { 200: json(OkSchema), ...errorResponses },
  }), (c) => {
    updateMemberRole(ctx(c), c.req.valid("param").userId, c.req.valid("json").role);
    return c.json({ ok: true as const }, 200);
  });

  app.openapi(apiRoute("admin", {
    method: "delete", path: "/api/v1/members/{userId}", tags: ["members"], summary: "Remove a member (their tokens for this workspace are revoked)",
    request: { params: UserIdParam },
    responses: { 200: json(OkSchema), ...errorResponses },
  }), (c) => {
    removeMember(ctx(c), c.req.valid("param").userId);
    return c.json({ ok: true as const }, 200);
  });

  const SettingsSchema = z.object({ auditRetentionDays: z.number().int() }).openapi("Settings");
  app.openapi(apiRoute("viewer", {
    method: "get", path: "/api/v1/settings", tags: ["settings"], summary: "Instance settings",
    responses: { 200: json(SettingsSchema), ...errorResponses },
  }), (c) => c.json(getSettings(ctx(c)), 200));

  app.openapi(apiRoute("owner", {
    method: "patch", path: "/api/v1/settings", tags: ["settings"], summary: "Change instance settings (owner). auditRetentionDays 0 keeps everything; a shorter window prunes now behind a signed checkpoint",
    request: body(z.strictObject({ auditRetentionDays: z.number().int().min(0).max(3650).optional() })),
    responses: { 200: json(SettingsSchema.extend({ pruned: z.number() })), ...errorResponses },
  }), (c) => c.json(updateSettings(ctx(c), c.req.valid("json")), 200));

  return app;
}
