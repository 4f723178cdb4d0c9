import { type Template, validateTemplate } from "./schema.ts";

/**
 * The templates Molthub ships (read-only). Each sets only real OpenClaw config keys and passes the built-in
 * policy packs: channel tokens are SecretRefs to env vars delivered from stored secrets, direct messages
 * need pairing or an allowlist, group chats are allowlisted and run tools in a sandbox (or are disabled),
 * no elevated tools, and the gateway does not update itself (Molthub pins the version).
 */

const ref = (id: string) => ({ source: "env", provider: "default", id });

const model = {
  name: "model",
  label: "Model",
  description: "provider/model, e.g. anthropic/claude-sonnet-4-5 or openai/gpt-5",
  type: "string",
  default: "anthropic/claude-sonnet-4-5",
  pattern: "[a-z0-9][a-z0-9._-]*/\\S+",
} as const;

const anthropicKey = {
  name: "anthropicKeySecret",
  label: "Anthropic API key (stored secret)",
  description:
    "The stored secret holding the Anthropic API key, delivered as ANTHROPIC_API_KEY. Leave empty when a connector or the bot's own spec.secrets provides the model's key.",
  type: "secret",
} as const;

const dmPolicy = {
  name: "dmPolicy",
  label: "Direct messages",
  description: "pairing: a stranger gets a code you approve; allowlist: only the IDs in allowFrom; disabled: no direct messages",
  type: "enum",
  options: ["pairing", "allowlist", "disabled"],
  default: "pairing",
} as const;

const allowFrom = (what: string) =>
  ({
    name: "allowFrom",
    label: "Allowed senders",
    description: `${what}, separated by commas. Pre-approved with pairing; the only ones allowed with allowlist (then required).`,
    type: "string",
    pattern: "[-A-Za-z0-9_:@+.,\\s]*",
  }) as const;

const requireMention = {
  name: "requireMention",
  label: "Answer only when mentioned",
  description: "In shared channels the bot answers only when it is @mentioned",
  type: "boolean",
  default: true,
} as const;

const common = {
  sandboxed: { agents: { defaults: { model: "{{ inputs.model }}", sandbox: { mode: "non-main" } } } },
  update: { checkOnStart: false },
};

const raw: unknown[] = [
  {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: {
      name: "telegram-bot",
      title: "Telegram bot",
      description:
        "An assistant on Telegram (a bot token from @BotFather). Direct messages need pairing or an allowlist; groups are allowlisted and run tools in a sandbox.",
      tags: ["telegram", "channel"],
    },
    spec: {
      inputs: [
        {
          name: "botTokenSecret",
          label: "Telegram bot token (stored secret)",
          description: "The stored secret holding the token from @BotFather, delivered as TELEGRAM_BOT_TOKEN",
          type: "secret",
          required: true,
        },
        model,
        anthropicKey,
        dmPolicy,
        allowFrom("Telegram user IDs"),
        {
          name: "groupPolicy",
          label: "Groups",
          description: "allowlist: only groups you list under channels.telegram.groups; disabled: no groups",
          type: "enum",
          options: ["allowlist", "disabled"],
          default: "allowlist",
        },
      ],
      openclaw: {
        ...common.sandboxed,
        channels: {
          telegram: {
            enabled: true,
            botToken: ref("TELEGRAM_BOT_TOKEN"),
            dmPolicy: "{{ inputs.dmPolicy }}",
            allowFrom: "{{ inputs.allowFrom | list }}",
            groupPolicy: "{{ inputs.groupPolicy }}",
          },
        },
        update: common.update,
      },
      secrets: {
        TELEGRAM_BOT_TOKEN: { secret: "{{ inputs.botTokenSecret }}" },
        ANTHROPIC_API_KEY: { secret: "{{ inputs.anthropicKeySecret }}" },
      },
    },
  },
  {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: {
      name: "discord-server",
      title: "Discord server",
      description:
        "An assistant in one Discord server (guild): it answers in the server's channels when mentioned, tools run in a sandbox; direct messages need pairing.",
      tags: ["discord", "channel"],
    },
    spec: {
      inputs: [
        {
          name: "botTokenSecret",
          label: "Discord bot token (stored secret)",
          description:
            "The stored secret holding the bot token from the Discord developer portal, delivered as DISCORD_BOT_TOKEN",
          type: "secret",
          required: true,
        },
        {
          name: "guildId",
          label: "Server (guild) ID",
          description: "The numeric ID of the Discord server the bot serves (Developer Mode → Copy Server ID)",
          type: "string",
          required: true,
          pattern: "[0-9]{5,25}",
        },
        requireMention,
        model,
        anthropicKey,
        dmPolicy,
      ],
      openclaw: {
        ...common.sandboxed,
        channels: {
          discord: {
            enabled: true,
            token: ref("DISCORD_BOT_TOKEN"),
            dmPolicy: "{{ inputs.dmPolicy }}",
            groupPolicy: "allowlist",
            guilds: { "{{ inputs.guildId }}": { requireMention: "{{ inputs.requireMention }}" } },
          },
        },
        update: common.update,
      },
      secrets: {
        DISCORD_BOT_TOKEN: { secret: "{{ inputs.botTokenSecret }}" },
        ANTHROPIC_API_KEY: { secret: "{{ inputs.anthropicKeySecret }}" },
      },
    },
  },
  {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: {
      name: "slack-workspace",
      title: "Slack workspace",
      description:
        "An assistant in a Slack workspace over Socket Mode (no public URL): a bot token (xoxb-…) and an app-level token (xapp-…). Channels are allowlisted, tools run in a sandbox.",
      tags: ["slack", "channel"],
    },
    spec: {
      inputs: [
        {
          name: "botTokenSecret",
          label: "Slack bot token (stored secret)",
          description: "The stored secret holding the bot token (xoxb-…), delivered as SLACK_BOT_TOKEN",
          type: "secret",
          required: true,
        },
        {
          name: "appTokenSecret",
          label: "Slack app-level token (stored secret)",
          description:
            "The stored secret holding the app-level token (xapp-…) with connections:write, delivered as SLACK_APP_TOKEN",
          type: "secret",
          required: true,
        },
        {
          name: "channelId",
          label: "Channel ID",
          description: "A Slack channel ID (C…) the bot may answer in; add more under channels.slack.channels later",
          type: "string",
          pattern: "[A-Z0-9]{6,20}",
        },
        requireMention,
        model,
        anthropicKey,
        dmPolicy,
      ],
      openclaw: {
        ...common.sandboxed,
        channels: {
          slack: {
            enabled: true,
            mode: "socket",
            botToken: ref("SLACK_BOT_TOKEN"),
            appToken: ref("SLACK_APP_TOKEN"),
            dmPolicy: "{{ inputs.dmPolicy }}",
            groupPolicy: "allowlist",
            requireMention: "{{ inputs.requireMention }}",
            channels: { "{{ inputs.channelId }}": { enabled: true } },
          },
        },
        update: common.update,
      },
      secrets: {
        SLACK_BOT_TOKEN: { secret: "{{ inputs.botTokenSecret }}" },
        SLACK_APP_TOKEN: { secret: "{{ inputs.appTokenSecret }}" },
        ANTHROPIC_API_KEY: { secret: "{{ inputs.anthropicKeySecret }}" },
      },
    },
  },
  {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: {
      name: "whatsapp-personal",
      title: "WhatsApp personal",
      description:
        "A personal assistant on your own WhatsApp number (linked by QR code after the first start): it answers only you, in your self-chat; groups are off.",
      tags: ["whatsapp", "channel", "personal"],
    },
    spec: {
      inputs: [
        {
          name: "ownerNumber",
          label: "Your phone number",
          description: "In international format, e.g. +15551234567; the only sender the bot answers",
          type: "string",
          required: true,
          pattern: "\\+[1-9][0-9]{6,14}",
        },
        model,
        anthropicKey,
      ],
      openclaw: {
        agents: { defaults: { model: "{{ inputs.model }}" } },
        channels: {
          whatsapp: {
            enabled: true,
            dmPolicy: "allowlist",
            allowFrom: ["{{ inputs.ownerNumber }}"],
            selfChatMode: true,
            groupPolicy: "disabled",
          },
        },
        update: common.update,
      },
      secrets: { ANTHROPIC_API_KEY: { secret: "{{ inputs.anthropicKeySecret }}" } },
    },
  },
  {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: {
      name: "multi-channel",
      title: "Multi-channel assistant",
      description:
        "One assistant on Telegram and Discord at once, with the same safe defaults on both: pairing for direct messages, allowlisted groups, sandboxed tools.",
      tags: ["telegram", "discord", "channel"],
    },
    spec: {
      inputs: [
        {
          name: "telegramTokenSecret",
          label: "Telegram bot token (stored secret)",
          description: "Delivered as TELEGRAM_BOT_TOKEN",
          type: "secret",
          required: true,
        },
        {
          name: "discordTokenSecret",
          label: "Discord bot token (stored secret)",
          description: "Delivered as DISCORD_BOT_TOKEN",
          type: "secret",
          required: true,
        },
        {
          name: "guildId",
          label: "Discord server (guild) ID",
          description: "Optional: the Discord server the bot answers in (when mentioned)",
          type: "string",
          pattern: "[0-9]{5,25}",
        },
        model,
        anthropicKey,
        dmPolicy,
        allowFrom("User IDs (Telegram and Discord)"),
      ],
      openclaw: {
        ...common.sandboxed,
        channels: {
          telegram: {
            enabled: true,
            botToken: ref("TELEGRAM_BOT_TOKEN"),
            dmPolicy: "{{ inputs.dmPolicy }}",
            allowFrom: "{{ inputs.allowFrom | list }}",
            groupPolicy: "allowlist",
          },
          discord: {
            enabled: true,
            token: ref("DISCORD_BOT_TOKEN"),
            dmPolicy: "{{ inputs.dmPolicy }}",
            allowFrom: "{{ inputs.allowFrom | list }}",
            groupPolicy: "allowlist",
            guilds: { "{{ inputs.guildId }}": { requireMention: true } },
          },
        },
        update: common.update,
      },
      secrets: {
        TELEGRAM_BOT_TOKEN: { secret: "{{ inputs.telegramTokenSecret }}" },
        DISCORD_BOT_TOKEN: { secret: "{{ inputs.discordTokenSecret }}" },
        ANTHROPIC_API_KEY: { secret: "{{ inputs.anthropicKeySecret }}" },
      },
    },
  },
  {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: {
      name: "coding-assistant",
      title: "Coding assistant",
      description:
        "A coding agent used from the Control UI or an ACP client, with the coding tool profile; shell commands outside the allowlist ask for approval. No chat channels.",
      tags: ["coding"],
    },
    spec: {
      inputs: [
        { ...model, default: "anthropic/claude-opus-4-1" },
        anthropicKey,
        {
          name: "workspace",
          label: "Workspace directory",
          description:
            "Optional: the directory the agent works in (absolute path on the target); defaults to the bot's own workspace",
          type: "string",
          pattern: "/\\S*",
        },
      ],
      openclaw: {
        agents: { defaults: { model: "{{ inputs.model }}", workspace: "{{ inputs.workspace }}" } },
        tools: { profile: "coding", exec: { security: "allowlist", ask: "on-miss" } },
        update: common.update,
      },
      secrets: { ANTHROPIC_API_KEY: { secret: "{{ inputs.anthropicKeySecret }}" } },
    },
  },
  {
    apiVersion: "molthub/v1",
    kind: "Template",
    metadata: {
      name: "minimal-gateway",
      title: "Minimal gateway",
      description: "A gateway with a model and nothing else: a starting point to add channels, profiles and connectors to.",
      tags: ["minimal"],
    },
    spec: {
      inputs: [model, anthropicKey],
      openclaw: {
        agents: { defaults: { model: "{{ inputs.model }}" } },
        update: common.update,
      },
      secrets: { ANTHROPIC_API_KEY: { secret: "{{ inputs.anthropicKeySecret }}" } },
    },
  },
];

/** The built-in templates, validated like user ones (a broken built-in fails at start, and in the tests). */
export const BUILTIN_TEMPLATES: Template[] = raw.map((t, i) => validateTemplate(t, `built-in template ${i + 1}`));

export function builtinTemplate(name: string): Template | undefined {
  return BUILTIN_TEMPLATES.find((t) => t.metadata.name === name);
}

/** Example inputs for each built-in (the docs and the tests use them; secret inputs name secrets). */
export const BUILTIN_EXAMPLE_INPUTS: Record<string, Record<string, string | number | boolean>> = {
  "telegram-bot": { botTokenSecret: "telegram-token", anthropicKeySecret: "anthropic-key", allowFrom: "123456789" },
  "discord-server": { botTokenSecret: "discord-token", guildId: "123456789012345678", anthropicKeySecret: "anthropic-key" },
  "slack-workspace": {
    botTokenSecret: "slack-bot-token",
    appTokenSecret: "slack-app-token",
    channelId: "C0123456789",
    anthropicKeySecret: "anthropic-key",
  },
  "whatsapp-personal": { ownerNumber: "+15551234567", anthropicKeySecret: "anthropic-key" },
  "multi-channel": { telegramTokenSecret: "telegram-token", discordTokenSecret: "discord-token", guildId: "123456789012345678" },
  "coding-assistant": { anthropicKeySecret: "anthropic-key", workspace: "/srv/code" },
  "minimal-gateway": {},
};
