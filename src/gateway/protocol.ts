/**
 * Wire shapes of the OpenClaw gateway WebSocket protocol (v4) that Molthub relies on.
 *
 * Checked against openclaw 2026.9.6 (`packages/gateway-protocol` as shipped in its dist). The gateway adds fields
 * between releases, so every object is a loose object: we parse the fields we rely on and keep the rest.
 */
import * as z from "zod";

export const PROTOCOL_VERSION = 4;

/** Closed set of `client.id` values the gateway accepts (others are rejected at connect). */
const GATEWAY_CLIENT_IDS = [
  "webchat-ui",
  "openclaw-control-ui",
  "openclaw-browser-copilot",
  "openclaw-tui",
  "webchat",
  "cli",
  "gateway-client",
  "openclaw-macos",
  "openclaw-linux",
  "openclaw-ios",
  "openclaw-watchos",
  "openclaw-android",
  "node-host",
  "openclaw-worker",
  "test",
  "fingerprint",
  "openclaw-probe",
] as const;
type GatewayClientId = (typeof GATEWAY_CLIENT_IDS)[number];

const GATEWAY_CLIENT_MODES = ["webchat", "cli", "ui", "backend", "node", "worker", "probe", "test"] as const;
type GatewayClientMode = (typeof GATEWAY_CLIENT_MODES)[number];

const nonEmpty = z.string().min(1);
const nonNegInt = z.number().int().nonnegative();

// ---------------------------------------------------------------------------------------------------------------
// Frames

const ErrorShapeSchema = z.looseObject({
  code: nonEmpty,
  message: z.string(),
  details: z.unknown().optional(),
  retryable: z.boolean().optional(),
  retryAfterMs: nonNegInt.optional(),
});
export type ErrorShape = z.infer<typeof ErrorShapeSchema>;

const RequestFrameSchema = z.looseObject({
  type: z.literal("req"),
  id: nonEmpty,
  method: nonEmpty,
  params: z.unknown().optional(),
});

const ResponseFrameSchema = z.looseObject({
  type: z.literal("res"),
  id: nonEmpty,
  ok: z.boolean(),
  payload: z.unknown().optional(),
  error: ErrorShapeSchema.optional(),
});

const EventFrameSchema = z.looseObject({
  type: z.literal("event"),
  event: nonEmpty,
  payload: z.unknown().optional(),
  seq: nonNegInt.optional(),
});
export type EventFrame = z.infer<typeof EventFrameSchema>;

export const FrameSchema = z.discriminatedUnion("type", [RequestFrameSchema, ResponseFrameSchema, EventFrameSchema]);

// ---------------------------------------------------------------------------------------------------------------
// Handshake

/** First frame from the server. `ts` becomes `device.signedAt`; a challenge without a valid `ts` is invalid. */
export const ConnectChallengeSchema = z.looseObject({
  nonce: nonEmpty,
  ts: nonNegInt,
});

export interface ConnectClientInfo {
  id: GatewayClientId;
  mode: GatewayClientMode;
  version: string;
  /** Signed (lower-cased) into the v3 payload; the gateway pins it on paired devices. */
  platform: string;
  deviceFamily?: string;
  displayName?: string;
  instanceId?: string;
}

export interface ConnectParams {
  minProtocol: number;
  maxProtocol: number;
  client: ConnectClientInfo;
  role: "operator";
  scopes: string[];
  caps: string[];
  auth: { token: string };
  device: { id: string; publicKey: string; signature: string; signedAt: number; nonce: string };
  userAgent?: string;
}

const SnapshotSchema = z.looseObject({
  uptimeMs: nonNegInt.optional(),
  /** Source-config revision the running gateway applied; compare with config.get `configRevisionHash`. */
  appliedConfigHash: z.string().nullable().optional(),
  configPath: z.string().optional(),
  stateDir: z.string().optional(),
  authMode: z.string().optional(),
});

export const HelloOkSchema = z.looseObject({
  type: z.literal("hello-ok"),
  protocol: z.number().int(),
  server: z.looseObject({
    version: nonEmpty,
    buildId: z.string().optional(),
    /** New on every (in-process) start: a changed bootId means the gateway restarted. */
    bootId: z.string().optional(),
    connId: nonEmpty,
  }),
  features: z.looseObject({
    methods: z.array(z.string()),
    events: z.array(z.string()),
    capabilities: z.array(z.string()).optional(),
  }),
  snapshot: SnapshotSchema,
  auth: z.looseObject({
    method: z.string().optional(),
    role: nonEmpty,
    scopes: z.array(z.string()),
    /** Issued to silently paired devices (e.g. `cli`); the reserved `gateway-client`/`backend` path gets none. */
    deviceToken: z.string().optional(),
    issuedAtMs: nonNegInt.optional(),
  }),
  policy: z.looseObject({
    maxPayload: z.number().int().positive(),
    maxBufferedBytes: z.number().int().positive().optional(),
    tickIntervalMs: z.number().int().positive(),
  }),
});
export type HelloOk = z.infer<typeof HelloOkSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Events

/** Sent before an orderly close (then close 1012). A numeric `restartExpectedMs` means a restart is expected. */
export const ShutdownEventSchema = z.looseObject({
  reason: z.string(),
  restartExpectedMs: nonNegInt.nullable().optional(),
});
export type ShutdownEvent = z.infer<typeof ShutdownEventSchema>;

// ---------------------------------------------------------------------------------------------------------------
// Method payloads

export const HealthSchema = z.looseObject({
  ok: z.boolean(),
  ts: nonNegInt.optional(),
  durationMs: z.number().optional(),
  channels: z.record(z.string(), z.unknown()).optional(),
  agents: z.array(z.looseObject({ agentId: z.string() })).optional(),
  eventLoop: z
    .looseObject({
      degraded: z.boolean().optional(),
      delayP99Ms: z.number().optional(),
    })
    .optional(),
});
export type Health = z.infer<typeof HealthSchema>;

export const StatusSchema = z.looseObject({
  runtimeVersion: nonEmpty,
  pid: z.number().int().optional(),
  processMemory: z
    .looseObject({
      rssBytes: z.number().optional(),
      heapUsedBytes: z.number().optional(),
    })
    .optional(),
  channelSummary: z.unknown().optional(),
  sessions: z.unknown().optional(),
  tasks: z.unknown().optional(),
});
export type Status = z.infer<typeof StatusSchema>;

const ConfigIssueSchema = z.looseObject({
  path: z.string().optional(),
  message: z.string(),
});

export const ConfigGetSchema = z.looseObject({
  path: z.string(),
  exists: z.boolean(),
  raw: z.string().nullable().optional(),
  /** Redacted (secrets and SecretRef ids come back as `__OPENCLAW_REDACTED__`). */
  config: z.record(z.string(), z.unknown()).nullable().optional(),
  /** Opaque authored revision: pass it back as `baseHash` on writes. Absent when the file does not exist. */
  hash: z.string().optional(),
  valid: z.boolean(),
  issues: z.array(ConfigIssueSchema).optional(),
  /** Resolved revision of the saved file; equal to `appliedConfigHash` when the saved config is live. */
  configRevisionHash: z.string().nullable().optional(),
  appliedConfigHash: z.string().nullable().optional(),
});
export type ConfigGet = z.infer<typeof ConfigGetSchema>;

export const ConfigPatchResultSchema = z.looseObject({
  ok: z.literal(true),
  /** True when the patch changed nothing (no `hash` then). */
  noop: z.boolean().optional(),
  path: z.string().optional(),
  hash: z.string().optional(),
  config: z.record(z.string(), z.unknown()).optional(),
  changedPaths: z.array(z.string()).optional(),
  /** Present when the change needs a restart (it is scheduled by the gateway). */
  restart: z.unknown().optional(),
  sentinel: z.unknown().optional(),
});
export type ConfigPatchResult = z.infer<typeof ConfigPatchResultSchema>;

export const ConfigSchemaLookupSchema = z.looseObject({
  path: z.string(),
  /** `hot` applies live, `restart` restarts the gateway in-process, `none` needs nothing. */
  reloadKind: z.string().optional(),
  schema: z.unknown().optional(),
  children: z.array(z.looseObject({ path: z.string(), reloadKind: z.string().optional() })).optional(),
});
export type ConfigSchemaLookup = z.infer<typeof ConfigSchemaLookupSchema>;

export const LogsTailSchema = z.looseObject({
  file: z.string(),
  /** Pass back as `cursor` to read only what was appended since. */
  cursor: nonNegInt,
  size: nonNegInt,
  /** Each entry is one JSON log record as a string (see {@link parseLogLine}). */
  lines: z.array(z.string()),
  truncated: z.boolean().optional(),
  /** True when the file rotated or shrank and reading restarted from the beginning. */
  reset: z.boolean().optional(),
  skippedBytes: nonNegInt.optional(),
});
export type LogsTail = z.infer<typeof LogsTailSchema>;

const ChannelAccountSchema = z.looseObject({
  accountId: z.string(),
  enabled: z.boolean().optional(),
  configured: z.boolean().optional(),
  running: z.boolean().optional(),
  connected: z.boolean().optional(),
  reconnectAttempts: z.number().optional(),
  lastError: z.string().nullable().optional(),
  mode: z.string().optional(),
});

export const ChannelsStatusSchema = z.looseObject({
  ts: nonNegInt,
  channelOrder: z.array(z.string()),
  channels: z.record(z.string(), z.unknown()),
  channelAccounts: z.record(z.string(), z.array(ChannelAccountSchema)),
  channelDefaultAccountId: z.record(z.string(), z.string()).optional(),
  partial: z.boolean().optional(),
  warnings: z.array(z.string()).optional(),
});
export type ChannelsStatus = z.infer<typeof ChannelsStatusSchema>;

const UsageTotalsSchema = z.looseObject({
  input: z.number(),
  output: z.number(),
  totalTokens: z.number(),
  totalCost: z.number(),
});

export const UsageCostSchema = z.looseObject({
  updatedAt: nonNegInt.optional(),
  days: z.number().optional(),
  daily: z.array(UsageTotalsSchema.extend({ date: z.string() })),
  totals: UsageTotalsSchema,
});
export type UsageCost = z.infer<typeof UsageCostSchema>;

export const RestartRequestResultSchema = z.looseObject({
  ok: z.boolean(),
  /** e.g. `scheduled` or `deferred` (waits for active work, then restarts). */
  status: z.string().optional(),
});
export type RestartRequestResult = z.infer<typeof RestartRequestResultSchema>;

/** HTTP `/readyz` body: 200 `{ready:true}` or 503 with the failing checks. */
export const ReadyzBodySchema = z.looseObject({
  ready: z.boolean(),
  failing: z.array(z.string()).optional(),
});
export type ReadyzBody = z.infer<typeof ReadyzBodySchema>;

export const HealthzBodySchema = z.looseObject({
  ok: z.boolean(),
  status: z.string().optional(),
});
export type HealthzBody = z.infer<typeof HealthzBodySchema>;

/** Parses one `logs.tail` line; non-JSON lines come back as `{ message }`. */
export function parseLogLine(line: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(line);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    /* plain text line */
  }
  return { message: line };
}
