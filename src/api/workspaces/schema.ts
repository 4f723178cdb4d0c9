import { z } from "@hono/zod-openapi";
import { RoleSchema } from "../shared/schemas.ts";

export const WorkspaceSchema = z.object({ id: z.string(), slug: z.string(), name: z.string() }).openapi("Workspace");
export const MyWorkspacesSchema = z.object({
  items: z.array(WorkspaceSchema.extend({ role: RoleSchema, current: z.boolean() })),
});
export const CurrentWorkspaceSchema = WorkspaceSchema.extend({ createdAt: z.number() });
export const MemberSchema = z
  .object({
    userId: z.string(),
    email: z.string(),
    name: z.string(),
    role: RoleSchema,
    totpEnabled: z.boolean(),
    since: z.number(),
  })
  .openapi("Member");
export const MemberListSchema = z.object({ items: z.array(MemberSchema) });
export const UserIdParam = z.object({
  userId: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "userId", in: "path" } }),
});

export const CreateBody = z.strictObject({
  name: z.string().min(1).max(100),
  slug: z
    .string()
    .regex(/^[a-z0-9][a-z0-9-]{0,39}$/, "lowercase letters, digits and dashes")
    .optional(),
});
export const RenameBody = z.strictObject({ name: z.string().min(1).max(100) });
export const SwitchBody = z.strictObject({ workspace: z.string().min(1).max(100) });
export const AddMemberBody = z.strictObject({
  email: z.email(),
  role: RoleSchema,
  name: z.string().min(1).max(100).optional(),
  password: z.string().min(1).max(1000).optional(),
});
export const RoleBody = z.strictObject({ role: RoleSchema });

export const SettingsSchema = z.object({ auditRetentionDays: z.number().int() }).openapi("Settings");
export const SettingsBody = z.strictObject({ auditRetentionDays: z.number().int().min(0).max(3650).optional() });
export const SettingsChangeSchema = SettingsSchema.extend({ pruned: z.number() });
