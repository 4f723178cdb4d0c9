import { z } from "@hono/zod-openapi";
import { RoleSchema } from "../shared/schemas.ts";

const Email = z.email().max(200);
const Password = z.string().min(1).max(1000);
const TotpCode = z.strictObject({ code: z.string().regex(/^\d{6}$/, "six digits") });

export const SetupStateSchema = z.object({ pending: z.boolean() });
export const SetupBody = z.strictObject({
  token: z.string().min(10).max(200),
  email: Email,
  name: z.string().min(1).max(100),
  password: Password,
  workspaceName: z.string().min(1).max(100).optional(),
});
export const SetupResultSchema = z.object({ userId: z.string(), workspaceId: z.string() });

export const LoginBody = z.strictObject({ email: Email, password: Password });
export const LoginResultSchema = z.object({ userId: z.string(), mfaRequired: z.boolean() });
export const TotpVerifyBody = TotpCode;

export const MeSchema = z.object({
  type: z.string(),
  userId: z.string().nullable(),
  label: z.string(),
  role: RoleSchema.nullable(),
  workspaceId: z.string().nullable(),
  totpEnabled: z.boolean().optional(),
  workspaces: z.array(z.object({ id: z.string(), slug: z.string(), name: z.string(), role: RoleSchema, current: z.boolean() })),
});

export const PasswordBody = z.strictObject({ currentPassword: Password, newPassword: Password });
export const PasswordResultSchema = z.object({ sessionsRevoked: z.number(), tokensRevoked: z.number() });

export const TotpEnrolmentSchema = z.object({ secret: z.string(), uri: z.string() });
export const TotpConfirmBody = TotpCode;
export const TotpDisableBody = z.strictObject({ password: Password });
