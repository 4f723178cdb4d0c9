import { z } from "@hono/zod-openapi";
import { RoleSchema } from "../shared/schemas.ts";

const TokenSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    role: RoleSchema,
    prefix: z.string(),
    userId: z.string(),
    expiresAt: z.number().nullable(),
    lastUsedAt: z.number().nullable(),
    revokedAt: z.number().nullable(),
    createdAt: z.number(),
  })
  .openapi("ApiToken");
export const TokenListSchema = z.object({ items: z.array(TokenSchema) });
export const CreateBody = z.strictObject({
  name: z.string().min(1).max(100),
  role: RoleSchema,
  expiresInDays: z.number().int().min(1).max(3650).nullable().optional(),
});
export const CreatedSchema = z.object({ token: z.string(), item: TokenSchema });
