import { z } from "@hono/zod-openapi";

const FindingSchema = z
  .object({ id: z.string(), level: z.enum(["ok", "warn", "error"]), message: z.string(), fix: z.string() })
  .openapi("HostFinding");
export const HostSchema = z
  .object({
    id: z.string(),
    name: z.string(),
    address: z.string(),
    port: z.number(),
    username: z.string(),
    authKind: z.enum(["generated", "uploaded"]),
    publicKey: z
      .string()
      .openapi({ description: "the line to add to ~/.ssh/authorized_keys on the host (the private key is never returned)" }),
    fingerprint: z.string().nullable().openapi({ description: "pinned SHA256 host key fingerprint; null until confirmed" }),
    seenFingerprint: z
      .string()
      .nullable()
      .openapi({ description: "what the host presented last: awaiting confirmation, or the new key of a mismatch" }),
    status: z.enum(["untrusted", "ok", "unreachable", "auth_failed", "key_mismatch", "degraded"]),
    statusReason: z.string(),
    os: z.string().nullable(),
    init: z.string().nullable(),
    doctor: z.object({ ts: z.number(), findings: z.array(FindingSchema), facts: z.unknown() }).nullable(),
    lastSeenAt: z.number().nullable(),
    createdAt: z.number(),
    updatedAt: z.number(),
    bots: z.number(),
  })
  .openapi("Host");
const EventSchema = z
  .object({
    id: z.number(),
    ts: z.number(),
    level: z.enum(["info", "warn", "error"]),
    type: z.string(),
    message: z.string(),
    data: z.record(z.string(), z.unknown()),
  })
  .openapi("HostEvent");

export const HostListSchema = z.object({ items: z.array(HostSchema) });
export const AddResultSchema = z.object({ host: HostSchema, publicKey: z.string(), probeError: z.string().nullable() });
export const HostDetailSchema = z.object({
  host: HostSchema,
  bots: z.array(z.object({ name: z.string(), provider: z.string(), status: z.string() })),
  events: z.array(EventSchema),
});
export const DeleteResultSchema = z.object({ ok: z.literal(true) });
export const InstallOutcomeSchema = z.object({
  host: HostSchema,
  result: z.unknown().nullable(),
  finding: FindingSchema.nullable(),
});
export const HostEventListSchema = z.object({ items: z.array(EventSchema) });
export const EventsQuery = z.object({ after: z.coerce.number().int().min(0).optional() });

/**
 * Bodies are checked by the service (every wrong field listed, with what to do); the documented shape is the
 * schema's, the validator only requires a JSON object.
 */
function looseBody(documented: z.ZodObject) {
  return z.record(z.string(), z.unknown()).openapi({ description: `fields: ${Object.keys(documented.shape).join(", ")}` });
}

export const AddBody = looseBody(
  z.object({
    name: z.string().openapi({ example: "nas" }),
    address: z.string().openapi({ example: "nas.lan" }),
    port: z.number().int().optional().openapi({ example: 22 }),
    username: z.string().openapi({ example: "molt" }),
    privateKey: z
      .string()
      .optional()
      .openapi({ description: "an unencrypted OpenSSH/PEM private key; omit to let the appliance generate an ed25519 key" }),
  }),
);
export const TrustBody = looseBody(z.object({ fingerprint: z.string().openapi({ example: "SHA256:…" }) }));
export const InstallBody = looseBody(z.object({ version: z.string().openapi({ example: "2026.9.6" }) }));
