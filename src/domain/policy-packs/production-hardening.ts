import type { PolicyPackInput } from "../policy.ts";

export const productionHardening: PolicyPackInput = {
  id: "production-hardening",
  name: "Production hardening",
  description: "Pinned versions, port spacing and quiet, predictable gateways for production bots.",
  scope: { environments: ["production", "prod"] },
  mode: "enforce",
  rules: [
    {
      type: "builtin",
      check: "pinned-version",
      id: "pinned-version",
      description: "A pinned image tag or version, never latest",
      severity: "error",
    },
    {
      type: "builtin",
      check: "port-spacing",
      id: "port-spacing",
      description: "Base ports on one host are >= 120 apart",
      severity: "error",
    },
    {
      type: "allowedValues",
      id: "no-update-check-on-start",
      path: "update.checkOnStart",
      values: [false],
      description: "Upgrades go through Molthub, not the gateway",
      severity: "warning",
      fix: { update: { checkOnStart: false } },
    },
    {
      type: "allowedValues",
      id: "log-level",
      path: "logging.level",
      values: ["info", "warn", "error"],
      description: "No debug or trace logging in production",
      severity: "warning",
      fix: { logging: { level: "info" } },
    },
  ],
};
