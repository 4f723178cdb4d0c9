import type { PolicyPackInput } from "../policy.ts";

export const securityBaseline: PolicyPackInput = {
  id: "security-baseline",
  name: "Security baseline",
  description: "Authenticated loopback gateway, no plaintext secrets, no elevated exec.",
  mode: "enforce",
  rules: [
    {
      type: "builtin",
      check: "gateway-auth",
      id: "gateway-auth",
      description: "The gateway requires a token or password",
      severity: "error",
    },
    {
      type: "builtin",
      check: "gateway-bind-loopback",
      id: "gateway-bind-loopback",
      description: "The gateway binds to loopback (exception: allowLanBind)",
      severity: "error",
    },
    {
      type: "builtin",
      check: "no-plaintext-secrets",
      id: "no-plaintext-secrets",
      description: "Secrets are SecretRefs or ${VAR}, never literals",
      severity: "error",
    },
    {
      type: "builtin",
      check: "no-elevated-tools",
      id: "no-elevated-tools",
      description: "No elevated exec and no unrestricted host exec",
      severity: "error",
    },
  ],
};
