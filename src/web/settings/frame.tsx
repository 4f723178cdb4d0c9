/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import { ROLES, type Role, roleRank } from "../../core/context.ts";
import { PageHead, ROLE_LABEL } from "../ui/components.tsx";

/** The settings tabs: the frame every tab page shares, the index page, and who may grant which role. */

const TABS = [
  { href: "/settings/account", label: "Account" },
  { href: "/settings/members", label: "Members" },
  { href: "/settings/tokens", label: "API tokens" },
  { href: "/settings/workspace", label: "Workspace" },
  { href: "/settings/instance", label: "Instance" },
];

/** The roles someone may hand out: never above their own. */
export function grantable(mine: Role | null): Role[] {
  return ROLES.filter((r) => roleRank(r) <= roleRank(mine));
}

export function roleOptions(mine: Role | null) {
  return grantable(mine).map((r) => ({ value: r, label: ROLE_LABEL[r] }));
}

export function isAdmin(role: Role | null): boolean {
  return roleRank(role) >= roleRank("admin");
}

export function SettingsFrame(props: { path: string; lead?: Child; children?: Child }) {
  return (
    <>
      <PageHead title="Settings" lead={props.lead} />
      <nav class="tabs" aria-label="Settings sections">
        {TABS.map((t) => (
          <a href={t.href} aria-current={props.path === t.href ? "page" : undefined}>
            {t.label}
          </a>
        ))}
      </nav>
      {props.children}
    </>
  );
}

export function SettingsIndexPage() {
  const items: [string, string, string][] = [
    ["/settings/account", "Account", "Your password and two-step verification."],
    ["/settings/members", "Members", "Who belongs to this workspace, and with which role."],
    ["/settings/tokens", "API tokens", "Tokens for the CLI and automation, bound to this workspace."],
    ["/settings/workspace", "Workspace", "Rename this workspace or create another one."],
    ["/settings/instance", "Instance", "Settings that apply to the whole Molthub, such as audit retention."],
  ];
  return (
    <SettingsFrame path="/settings">
      <div class="stats">
        {items.map(([href, label, text]) => (
          <a class="stat" href={href}>
            <span class="stat-value-sm">{label}</span>
            <span class="stat-note">{text}</span>
          </a>
        ))}
      </div>
    </SettingsFrame>
  );
}
