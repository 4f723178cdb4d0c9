import { providerForInit, targetProblems } from "../../providers/registry.ts";
import { CONNECTOR_TYPE_DEFS, isConnectorType } from "./connectors.ts";
import { NAME_RE, VERSION_RE } from "./names.ts";
import { DEFAULT_OPENCLAW_VERSION } from "./templates/render.ts";

/**
 * The create-bot wizard, without the pages: what its form carries from step to step, the checks of each step,
 * the secrets a bot with those choices needs, and the Bot manifest the choices describe. The pages, the service
 * calls and the storing of secret values live in src/web/bots/.
 *
 * Keys and tokens are named by domain/connectors.ts (the env var each is delivered as, and for a channel the
 * OpenClaw config that refers to it), so the wizard and a connector write the same config for the same choice.
 */

export type WizardStep = 1 | 2 | 3 | 4;

/** The fields each form step shows; the other steps carry them as hidden fields. */
export const STEP_FIELDS = {
  1: ["name", "provider", "host", "version", "image", "network", "fleet", "environment", "labels"],
  2: ["model", "telegram", "discord", "slack", "dmPolicy", "allowFrom"],
} as const;
export type WizardField = (typeof STEP_FIELDS)[1][number] | (typeof STEP_FIELDS)[2][number];
export const WIZARD_FIELDS: WizardField[] = [...STEP_FIELDS[1], ...STEP_FIELDS[2]];

export type WizardState = Record<WizardField, string> & {
  /** env var → secret name */
  refs: Record<string, string>;
};

export const DEFAULT_IMAGE = `ghcr.io/openclaw/openclaw:${DEFAULT_OPENCLAW_VERSION}`;

export function defaultWizardState(): WizardState {
  return {
    name: "",
    provider: "local",
    host: "",
    version: DEFAULT_OPENCLAW_VERSION,
    image: DEFAULT_IMAGE,
    network: "host",
    fleet: "",
    environment: "",
    labels: "",
    model: "anthropic/claude-sonnet-4-5",
    telegram: "",
    discord: "",
    slack: "",
    dmPolicy: "pairing",
    allowFrom: "",
    refs: {},
  };
}

/** The wizard's state from a submitted form. Secret values are not part of it; references to stored ones are. */
export function readWizardState(values: Record<string, string>): WizardState {
  const s = defaultWizardState();
  for (const f of WIZARD_FIELDS) s[f] = (values[f] ?? "").trim();
  for (const [k, v] of Object.entries(values)) {
    const m = /^ref_([A-Z][A-Z0-9_]{0,127})$/.exec(k);
    if (m && NAME_RE.test(v.trim())) s.refs[m[1]!] = v.trim();
  }
  return s;
}

// ---------- where the bot runs ----------

/**
 * Where the wizard can put a bot: this machine, a Docker engine, or a registered host, whose provider the registry
 * picks by the host's init system (`providerForInit`). The checks on each choice come from the providers too.
 */
export const WIZARD_TARGETS = ["local", "docker", "host"] as const;
export type WizardTarget = (typeof WIZARD_TARGETS)[number];

function isWizardTarget(s: string): s is WizardTarget {
  return (WIZARD_TARGETS as readonly string[]).includes(s);
}

/** A registered host as a target choice. */
export interface TargetHost {
  name: string;
  init: string | null;
  status: string;
}

/** Hosts a bot can target: the key is confirmed (a host awaiting confirmation or with a changed key is not offered). */
export function targetableHosts(hosts: (TargetHost & { fingerprint: string | null })[]): TargetHost[] {
  return hosts
    .filter((h) => h.fingerprint && h.status !== "key_mismatch")
    .map((h) => ({ name: h.name, init: h.init, status: h.status }));
}

/** The manifest's `spec.target` for the wizard's choice; `hostInit` is the init system of the chosen host. */
function wizardTarget(s: WizardState, hostInit: string | null | undefined): Record<string, unknown> {
  if (s.provider === "docker") return { provider: "docker", image: s.image, network: s.network || "host" };
  if (s.provider === "host") return { provider: providerForInit(hostInit), host: s.host, version: s.version };
  return { provider: "local", version: s.version };
}

const LABEL_KEY_RE = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/i;

/** `key=value` pairs separated by commas or newlines; the first bad pair is the error. */
export function parseLabels(text: string): { labels: Record<string, string>; error?: string } {
  const labels: Record<string, string> = {};
  for (const part of text
    .split(/[,\n]/)
    .map((p) => p.trim())
    .filter(Boolean)) {
    const eq = part.indexOf("=");
    if (eq <= 0) return { labels, error: `"${part.slice(0, 40)}" is not key=value` };
    const k = part.slice(0, eq).trim();
    const v = part.slice(eq + 1).trim();
    if (!LABEL_KEY_RE.test(k)) return { labels, error: `the key "${k.slice(0, 40)}" may only use letters, digits and . _ / -` };
    if (v.length > 63) return { labels, error: `the value of ${k} is longer than 63 characters` };
    labels[k] = v;
  }
  return { labels };
}

/** What step 1 checks, besides the fields themselves. */
export interface TargetChecks {
  /** names of the workspace's bots */
  taken: string[];
  /** names of the hosts a bot can target */
  hostNames: string[];
}

/** Step 1: name, where it runs, and the grouping fields. Field → message; empty when all is well. */
export function validateTarget(s: WizardState, checks: TargetChecks): Record<string, string> {
  const e: Record<string, string> = {};
  if (!s.name) e.name = "give the bot a name";
  else if (!NAME_RE.test(s.name))
    e.name = "lowercase letters, digits and dashes, 1–63 characters, starting and ending with a letter or digit";
  else if (checks.taken.includes(s.name)) e.name = `a bot named ${s.name} exists already; pick another name`;
  if (!isWizardTarget(s.provider)) e.provider = "pick where the bot runs";
  if ((s.provider === "local" || s.provider === "host") && !VERSION_RE.test(s.version))
    e.version = "an OpenClaw version like 2026.9.6";
  if (s.provider === "host" && !checks.hostNames.includes(s.host))
    e.host = checks.hostNames.length ? "pick one of your hosts" : "add a host under Hosts and confirm its key first";
  if (s.provider === "docker") {
    // the Docker provider's own refusal (an unpinned image), before anything is stored
    const problem = targetProblems({ provider: "docker", image: s.image }).find((p) => p.path === "image");
    if (problem) e.image = problem.message;
    if (s.network !== "host" && s.network !== "bridge") e.network = "host or bridge";
  }
  if (s.fleet && !NAME_RE.test(s.fleet)) e.fleet = "lowercase letters, digits and dashes";
  if (s.environment && !NAME_RE.test(s.environment)) e.environment = "lowercase letters, digits and dashes";
  const labels = parseLabels(s.labels);
  if (labels.error) e.labels = labels.error;
  return e;
}

// ---------- model and channels ----------

const MODEL_RE = /^[a-z0-9][a-z0-9._-]*\/[^\s]+$/;
const DM_POLICIES = ["pairing", "allowlist", "disabled"];

/** The chat channels the wizard offers; each is a connector type, which names its tokens and config. */
const CHANNELS = ["telegram", "discord", "slack"] as const;

/** The model provider a model id names: `anthropic/claude-sonnet-4-5` → anthropic. */
function providerOf(model: string): string {
  return model.split("/")[0] ?? "";
}

/**
 * Model providers without a connector type: the env var OpenClaw reads each one's key from; null: no key.
 * The others (anthropic, openai, openrouter, ollama) are read from their connector type.
 */
const KEYS_WITHOUT_CONNECTOR: Record<string, { env: string; what: string } | null> = {
  google: { env: "GEMINI_API_KEY", what: "Google Gemini API key" },
  mistral: { env: "MISTRAL_API_KEY", what: "Mistral API key" },
  xai: { env: "XAI_API_KEY", what: "xAI API key" },
  groq: { env: "GROQ_API_KEY", what: "Groq API key" },
  deepseek: { env: "DEEPSEEK_API_KEY", what: "DeepSeek API key" },
  lmstudio: null,
  vllm: null,
};

/** The key a model provider needs: its env var and what it is; null when it needs none; undefined when Molthub does not know the provider. */
export function providerKey(provider: string): { env: string; what: string } | null | undefined {
  if (isConnectorType(provider)) {
    const def = CONNECTOR_TYPE_DEFS[provider];
    if (def.category !== "llm") return undefined;
    return def.credential ? { env: def.credential.env, what: def.credential.label } : null;
  }
  return Object.hasOwn(KEYS_WITHOUT_CONNECTOR, provider) ? KEYS_WITHOUT_CONNECTOR[provider] : undefined;
}

/** The model's provider when Molthub does not know which key it needs (the page says so), else undefined. */
export function unknownModelProvider(s: WizardState): string | undefined {
  const p = providerOf(s.model);
  return p && providerKey(p) === undefined ? p : undefined;
}

function idList(text: string): string[] {
  return text.split(/[\s,]+/).filter(Boolean);
}

/** Step 2: the model, the channels and who may send direct messages. Field → message; empty when all is well. */
export function validateModel(s: WizardState): Record<string, string> {
  const e: Record<string, string> = {};
  if (!s.model) e.model = "pick a model";
  else if (s.model.length > 200 || !MODEL_RE.test(s.model)) e.model = "provider/model, like anthropic/claude-sonnet-4-5";
  for (const ch of CHANNELS) if (s[ch] !== "" && s[ch] !== "on") e[ch] = "tick the box or leave it empty";
  if (!DM_POLICIES.includes(s.dmPolicy)) e.dmPolicy = "pick a policy for direct messages";
  const ids = idList(s.allowFrom);
  if (s.dmPolicy === "allowlist" && ids.length === 0) e.allowFrom = "an allowlist needs at least one sender ID";
  if (ids.some((id) => id.length > 100)) e.allowFrom = "each ID at most 100 characters";
  return e;
}

// ---------- secrets ----------

/** A secret the bot needs: the env var it is delivered as, what it is, and a name to store it under. */
export interface SecretNeed {
  env: string;
  what: string;
  suggest: string;
}

function clipName(s: string): string {
  return s.slice(0, 63).replace(/-+$/, "");
}

/** The secrets a bot with these choices needs, in the order the wizard asks for them. */
export function secretNeeds(s: WizardState): SecretNeed[] {
  const out: SecretNeed[] = [];
  const p = providerOf(s.model);
  const key = providerKey(p);
  if (key) out.push({ env: key.env, what: key.what, suggest: `${p}-api-key` });
  // a channel token is the bot's own: its suggested name starts with the bot's name
  const suggest = (env: string) => clipName(`${s.name || "bot"}-${env.toLowerCase().replaceAll("_", "-")}`);
  for (const ch of CHANNELS) {
    if (s[ch] !== "on") continue;
    const def = CONNECTOR_TYPE_DEFS[ch];
    for (const cred of [def.credential, def.second])
      if (cred) out.push({ env: cred.env, what: cred.label, suggest: suggest(cred.env) });
  }
  return out;
}

/** The references still needed: a reference to a secret the choices no longer need is dropped. */
export function neededRefs(s: WizardState): Record<string, string> {
  return Object.fromEntries(
    secretNeeds(s)
      .filter((n) => s.refs[n.env])
      .map((n) => [n.env, s.refs[n.env]!]),
  );
}

/** The needed secrets no stored secret is picked for yet. */
export function missingSecrets(s: WizardState): SecretNeed[] {
  return secretNeeds(s).filter((n) => !s.refs[n.env]);
}

// ---------- the manifest ----------

/** The Bot manifest the wizard's choices describe. Secrets appear only as env-var references. */
export function buildManifest(s: WizardState, hosts: Pick<TargetHost, "name" | "init">[] = []): Record<string, unknown> {
  const hostInit = hosts.find((h) => h.name === s.host)?.init;
  const labels = parseLabels(s.labels).labels;
  const metadata: Record<string, unknown> = { name: s.name };
  if (s.fleet) metadata.fleet = s.fleet;
  if (s.environment) metadata.environment = s.environment;
  if (Object.keys(labels).length) metadata.labels = labels;
  const target = wizardTarget(s, hostInit);
  // The provider's key reaches the gateway as its standard env var (spec.secrets below). No
  // models.providers entry: the gateway fills that entry's model list itself, and a config that names the
  // provider there would then be a patch that removes the gateway's entries (refused as drift).
  const openclaw: Record<string, unknown> = { agents: { defaults: { model: s.model } } };
  const dm: Record<string, unknown> = { dmPolicy: s.dmPolicy || "pairing" };
  if (s.dmPolicy === "allowlist") dm.allowFrom = idList(s.allowFrom);
  const channels: Record<string, unknown> = {};
  for (const ch of CHANNELS) {
    if (s[ch] !== "on") continue;
    // the connector type's own config for the channel (its token paths as env-var SecretRefs), switched on
    const fragment = (CONNECTOR_TYPE_DEFS[ch].fragment({}).channels as Record<string, Record<string, unknown>>)[ch];
    channels[ch] = { enabled: true, ...fragment, ...dm };
  }
  if (Object.keys(channels).length) openclaw.channels = channels;
  const secrets = Object.fromEntries(secretNeeds(s).map((n) => [n.env, { secret: s.refs[n.env] ?? "" }]));
  return { apiVersion: "molthub/v1", kind: "Bot", metadata, spec: { target, openclaw, secrets } };
}
