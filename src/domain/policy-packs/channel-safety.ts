import type { PolicyPackInput } from "../policy.ts";

export const channelSafety: PolicyPackInput = {
  id: "channel-safety",
  name: "Channel safety",
  description: "Who may talk to the bot, sandboxing in groups, one bot per channel token.",
  mode: "enforce",
  rules: [
    {
      type: "builtin",
      check: "dm-policy-not-open",
      id: "dm-policy-not-open",
      description: "No channel accepts DMs from anyone (exception: allowOpenDm)",
      severity: "error",
    },
    {
      type: "builtin",
      check: "group-policy-not-open",
      id: "group-policy-not-open",
      description: "No channel answers in every group (exception: allowOpenGroups)",
      severity: "error",
    },
    {
      type: "builtin",
      check: "sandbox-for-groups",
      id: "sandbox-for-groups",
      description: "Group chats run tools in a sandbox",
      severity: "error",
    },
    {
      type: "builtin",
      check: "unique-channel-tokens",
      id: "unique-channel-tokens",
      description: "A channel token serves one bot of the fleet",
      severity: "error",
    },
    {
      type: "allowedValues",
      id: "dm-policy-known",
      path: "channels.*.dmPolicy",
      values: ["pairing", "allowlist", "disabled", "open"],
      description: "dmPolicy is one of OpenClaw's values",
      severity: "warning",
    },
  ],
};
