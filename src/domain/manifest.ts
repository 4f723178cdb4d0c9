import * as z from "zod";
import { PROVIDER_MODULES, type TargetSchemas } from "../../providers/registry.ts";
import { DocumentError, type DocumentIssue, parseDocuments, zodIssues } from "./documents.ts";
import { NAME_RE, nameSchema, VERSION_RE } from "./names.ts";

export { NAME_RE, VERSION_RE };

/**
 * The Bot manifest: the public contract for declaring a bot (YAML or JSON).
 * `spec.openclaw` is the part of openclaw.json the bot manages; the gateway's own keys (port, bind,
 * auth, state dir, log file) are owned by Molthub and may not be set there.
 */
export const ENV_KEY_RE = /^[A-Z][A-Z0-9_]{0,127}$/;

const name = nameSchema;
// "new" is the UI's create-bot page
const botName = name.refine((n) => n !== "new", '"new" is reserved; pick another name');

/** `spec.target`: one shape per target kind, each declared by its provider module (providers/registry.ts). */
export const targetSchema = z.discriminatedUnion(
  "provider",
  PROVIDER_MODULES.map((m) => m.targetSchema) as unknown as TargetSchemas,
);

export const RESERVED_OPENCLAW_PATHS = ["gateway.port", "gateway.bind", "gateway.auth", "gateway.mode", "logging.file"];

export const manifestSchema = z.strictObject({
  apiVersion: z.literal("molthub/v1"),
  kind: z.literal("Bot"),
  metadata: z.strictObject({
    name: botName,
    fleet: name.optional(),
    environment: name.optional(),
    labels: z
      .record(
        z.string().regex(/^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/i, "label keys: letters, digits, . _ / -"),
        z.string().max(63),
      )
      .optional(),
    description: z.string().max(500).optional(),
  }),
  spec: z
    .strictObject({
      target: targetSchema,
      /** the template the bot was made from; its values are the lowest configuration layer */
      template: z
        .strictObject({
          name: name,
          inputs: z
            .record(
              z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, "input names: letters, digits and _"),
              z.union([z.string().max(10_000), z.number(), z.boolean()]),
            )
            .default({}),
        })
        .optional(),
      /** profiles (shared defaults) attached to the bot, by name */
      profiles: z
        .array(name)
        .max(20)
        .refine((a) => new Set(a).size === a.length, "each profile only once")
        .optional(),
      /** shared credentials (connectors) bound to the bot, by name */
      connectors: z
        .array(name)
        .max(20)
        .refine((a) => new Set(a).size === a.length, "each connector only once")
        .optional(),
      openclaw: z.record(z.string(), z.unknown()).default({}),
      secrets: z
        .record(z.string().regex(ENV_KEY_RE, "an env var name like ANTHROPIC_API_KEY"), z.strictObject({ secret: name }))
        .default({}),
      drift: z.enum(["revert", "adopt", "alert"]).default("revert"),
      paused: z.boolean().default(false),
    })
    .superRefine((spec, ctx) => {
      for (const p of RESERVED_OPENCLAW_PATHS) {
        if (getPath(spec.openclaw, p) !== undefined) {
          ctx.addIssue({
            code: "custom",
            path: ["openclaw", ...p.split(".")],
            message: `${p} is managed by Molthub (loopback bind, allocated port, token auth, per-bot log file); remove it`,
          });
        }
      }
      if ("OPENCLAW_GATEWAY_TOKEN" in spec.secrets)
        ctx.addIssue({
          code: "custom",
          path: ["secrets", "OPENCLAW_GATEWAY_TOKEN"],
          message: "the gateway token is generated and managed by Molthub; remove it",
        });
    }),
});

export type Manifest = z.output<typeof manifestSchema>;
export type ManifestInput = z.input<typeof manifestSchema>;
export type Target = Manifest["spec"]["target"];

/** The registered host a bot runs on; "local" for this machine (a local bot, or a Docker bot on the local engine). */
export function targetHost(m: Manifest): string {
  return ("host" in m.spec.target && m.spec.target.host) || "local";
}

export function getPath(obj: unknown, path: string): unknown {
  let cur: unknown = obj;
  for (const k of path.split(".")) {
    if (cur === null || typeof cur !== "object") return undefined;
    cur = (cur as Record<string, unknown>)[k];
  }
  return cur;
}

export class ManifestError extends DocumentError {
  override name = "ManifestError";
  constructor(
    message: string,
    issues: DocumentIssue[],
    readonly source?: string,
  ) {
    super(message, issues);
  }
}

/** Validates one manifest object; every wrong path is listed. */
export function validateManifest(input: unknown, source?: string): Manifest {
  const r = manifestSchema.safeParse(input);
  if (r.success) return r.data;
  const issues = zodIssues(r.error);
  throw new ManifestError(
    `${source ? `${source}: ` : ""}the manifest is invalid (${issues.length} problem${issues.length > 1 ? "s" : ""})`,
    issues,
    source,
  );
}

/** Parses YAML (one or more documents, `---` separated) or JSON text into manifest objects. */
export function parseManifests(text: string, source = "manifest"): unknown[] {
  return parseDocuments(text, source, (message, issues) => new ManifestError(message, issues, source));
}
