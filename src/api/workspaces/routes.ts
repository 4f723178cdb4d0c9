import { OpenAPIHono } from "@hono/zod-openapi";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { getSettings, updateSettings } from "../../services/settings.ts";
import {
  addMember,
  createWorkspace,
  getCurrentWorkspace,
  listMembers,
  listMyWorkspaces,
  removeMember,
  renameWorkspace,
  switchWorkspace,
  updateMemberRole,
} from "../../services/workspaces.ts";
import { body, json, reply } from "../shared/content.ts";
import { errorResponses } from "../shared/errors.ts";
import { apiRoute } from "../shared/route.ts";
import { OkSchema } from "../shared/schemas.ts";
import {
  AddMemberBody,
  CreateBody,
  CurrentWorkspaceSchema,
  MemberListSchema,
  MemberSchema,
  MyWorkspacesSchema,
  RenameBody,
  RoleBody,
  SettingsBody,
  SettingsChangeSchema,
  SettingsSchema,
  SwitchBody,
  UserIdParam,
  WorkspaceSchema,
} from "./schema.ts";

/** Workspaces, their members and the instance settings. */
export function workspaceRoutes() {
  const app = new OpenAPIHono<AppEnv>();

  app.openapi(
    apiRoute("user", {
      method: "get",
      path: "/api/v1/workspaces",
      tags: ["workspaces"],
      summary: "Workspaces you belong to",
      responses: { 200: json(MyWorkspacesSchema), ...errorResponses },
    }),
    (c) => reply(c, MyWorkspacesSchema, { items: listMyWorkspaces(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute(
      "admin",
      {
        method: "post",
        path: "/api/v1/workspaces",
        tags: ["workspaces"],
        summary: "Create a workspace (you become its owner)",
        request: body(CreateBody),
        responses: { 201: json(WorkspaceSchema), ...errorResponses },
      },
      { sessionOnly: true },
    ),
    (c) => reply(c, WorkspaceSchema, createWorkspace(ctxOf(c), c.req.valid("json")), 201),
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/workspace",
      tags: ["workspaces"],
      summary: "The current workspace",
      responses: { 200: json(CurrentWorkspaceSchema), ...errorResponses },
    }),
    (c) => reply(c, CurrentWorkspaceSchema, getCurrentWorkspace(ctxOf(c)), 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "patch",
      path: "/api/v1/workspace",
      tags: ["workspaces"],
      summary: "Rename the current workspace",
      request: body(RenameBody),
      responses: { 200: json(OkSchema), ...errorResponses },
    }),
    (c) => {
      renameWorkspace(ctxOf(c), c.req.valid("json"));
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute(
      "user",
      {
        method: "post",
        path: "/api/v1/workspace/switch",
        tags: ["workspaces"],
        summary: "Make another of your workspaces the session's current one",
        request: body(SwitchBody),
        responses: { 200: json(OkSchema), ...errorResponses },
      },
      { sessionOnly: true },
    ),
    (c) => {
      switchWorkspace(ctxOf(c), c.req.valid("json").workspace);
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/members",
      tags: ["members"],
      summary: "Members of the current workspace",
      responses: { 200: json(MemberListSchema), ...errorResponses },
    }),
    (c) => reply(c, MemberListSchema, { items: listMembers(ctxOf(c)) }, 200),
  );

  app.openapi(
    apiRoute("admin", {
      method: "post",
      path: "/api/v1/members",
      tags: ["members"],
      summary: "Add a member: an existing user, or a new local user when name and password are given",
      request: body(AddMemberBody),
      responses: { 201: json(MemberSchema), ...errorResponses },
    }),
    async (c) => reply(c, MemberSchema, await addMember(ctxOf(c), c.req.valid("json")), 201),
  );

  app.openapi(
    apiRoute("admin", {
      method: "patch",
      path: "/api/v1/members/{userId}",
      tags: ["members"],
      summary: "Change a member's role",
      request: { params: UserIdParam, ...body(RoleBody) },
      responses: { 200: json(OkSchema), ...errorResponses },
    }),
    (c) => {
      updateMemberRole(ctxOf(c), c.req.valid("param").userId, c.req.valid("json").role);
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute("admin", {
      method: "delete",
      path: "/api/v1/members/{userId}",
      tags: ["members"],
      summary: "Remove a member (their tokens for this workspace are revoked)",
      request: { params: UserIdParam },
      responses: { 200: json(OkSchema), ...errorResponses },
    }),
    (c) => {
      removeMember(ctxOf(c), c.req.valid("param").userId);
      return reply(c, OkSchema, { ok: true }, 200);
    },
  );

  app.openapi(
    apiRoute("viewer", {
      method: "get",
      path: "/api/v1/settings",
      tags: ["settings"],
      summary: "Instance settings",
      responses: { 200: json(SettingsSchema), ...errorResponses },
    }),
    (c) => reply(c, SettingsSchema, getSettings(ctxOf(c)), 200),
  );

  app.openapi(
    apiRoute("owner", {
      method: "patch",
      path: "/api/v1/settings",
      tags: ["settings"],
      summary:
        "Change instance settings (owner). auditRetentionDays 0 keeps everything; a shorter window prunes now behind a signed checkpoint",
      request: body(SettingsBody),
      responses: { 200: json(SettingsChangeSchema), ...errorResponses },
    }),
    (c) => reply(c, SettingsChangeSchema, updateSettings(ctxOf(c), c.req.valid("json")), 200),
  );

  return app;
}
