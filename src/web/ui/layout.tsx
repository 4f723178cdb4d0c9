/** @jsxImportSource hono/jsx */
import type { Child } from "hono/jsx";
import type { Role } from "../../core/context.ts";
import { Alert, BrandMark, type Flash } from "./components.tsx";

export interface AssetUrls {
  css: string;
  htmx: string;
  js: string;
  icon: string;
}

/** A workspace in the switcher: the signed-in user's own, one of them current. */
interface ShellWorkspace {
  id: string;
  name: string;
  current: boolean;
}

/** Everything the chrome around a signed-in page needs. */
export interface Shell {
  path: string;
  user: { email: string; name: string };
  role: Role | null;
  workspaces: ShellWorkspace[];
  flash: Flash | null;
  assets: AssetUrls;
  version: string;
}

interface NavItem {
  href: string;
  label: string;
  /** sections whose features arrive in a later version */
  soon?: boolean;
}

const NAV: { group: string; items: NavItem[] }[] = [
  { group: "Overview", items: [{ href: "/", label: "Dashboard" }] },
  {
    group: "Run",
    items: [
      { href: "/bots", label: "Bots" },
      { href: "/fleets", label: "Fleets", soon: true },
      { href: "/hosts", label: "Hosts" },
    ],
  },
  {
    group: "Configure",
    items: [
      { href: "/templates", label: "Templates" },
      { href: "/profiles", label: "Profiles" },
      { href: "/overlays", label: "Overlays" },
      { href: "/policies", label: "Policies" },
      { href: "/secrets", label: "Secrets" },
      { href: "/connectors", label: "Connectors" },
      { href: "/changesets", label: "Change sets", soon: true },
    ],
  },
  {
    group: "Govern",
    items: [
      { href: "/audit", label: "Audit" },
      { href: "/settings", label: "Settings" },
    ],
  },
];

function isCurrent(href: string, path: string): boolean {
  return href === "/" ? path === "/" : path === href || path.startsWith(`${href}/`);
}

// htmx: no inline indicator styles (CSP), no eval-based features, no script tags from swapped content
const HTMX_CONFIG = JSON.stringify({
  includeIndicatorStyles: false,
  allowEval: false,
  allowScriptTags: false,
  historyCacheSize: 0,
});

/** `<head>` and `<body>`; every page (signed in or not) goes through here. */
function Document(props: { title: string; assets: AssetUrls; live?: boolean; bodyClass?: string; children?: Child }) {
  return (
    <html lang="en">
      <head>
        <meta charset="utf-8" />
        <meta name="viewport" content="width=device-width, initial-scale=1" />
        <meta name="color-scheme" content="light dark" />
        <meta name="referrer" content="same-origin" />
        <meta name="htmx-config" content={HTMX_CONFIG} />
        <title>{`${props.title} · Molthub`}</title>
        <link rel="icon" type="image/svg+xml" href={props.assets.icon} />
        <link rel="stylesheet" href={props.assets.css} />
        <script src={props.assets.htmx} defer></script>
        <script src={props.assets.js} defer></script>
      </head>
      <body class={props.bodyClass} data-live={props.live ? "on" : undefined}>
        {props.children}
      </body>
    </html>
  );
}

function WorkspaceSwitcher(props: { workspaces: ShellWorkspace[] }) {
  const current = props.workspaces.find((w) => w.current);
  if (props.workspaces.length <= 1) {
    return (
      <div class="ws-switch">
        <span class="muted small">Workspace</span>
        <span class="ws-name">{current?.name ?? "none"}</span>
      </div>
    );
  }
  return (
    <form class="ws-switch" method="post" action="/workspaces/switch">
      <label for="ws-select">Workspace</label>
      <select id="ws-select" name="workspace" data-autosubmit>
        {props.workspaces.map((w) => (
          <option value={w.id} selected={w.current}>
            {w.name}
          </option>
        ))}
      </select>
      <button type="submit" class="btn-sm" data-autosubmit-button>
        Switch
      </button>
    </form>
  );
}

/** The signed-in chrome: skip link, sidebar navigation, top bar with workspace switcher and sign-out. */
export function AppLayout(props: { title: string; shell: Shell; children?: Child }) {
  const { shell } = props;
  const canCreateWorkspace = shell.role === "admin" || shell.role === "owner";
  return (
    <Document title={props.title} assets={shell.assets} live={!!shell.role}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <div class="shell">
        <aside class="sidebar">
          <a class="brand" href="/">
            <BrandMark />
            Molthub
          </a>
          <nav class="nav" aria-label="Main">
            {NAV.map((g) => (
              <div class="nav-group">
                <p class="nav-heading">{g.group}</p>
                <ul>
                  {g.items.map((item) => (
                    <li>
                      <a href={item.href} aria-current={isCurrent(item.href, shell.path) ? "page" : undefined}>
                        <span>{item.label}</span>
                        {item.soon && <span class="soon">soon</span>}
                      </a>
                    </li>
                  ))}
                </ul>
              </div>
            ))}
          </nav>
          <div class="sidebar-foot">
            <a href="/api/docs">API reference</a>
            <div>Molthub {shell.version}</div>
          </div>
        </aside>
        <div class="content">
          <header class="topbar">
            <div class="topbar-group">
              <WorkspaceSwitcher workspaces={shell.workspaces} />
              {canCreateWorkspace && (
                <a class="btn btn-ghost btn-sm" href="/settings/workspace#create">
                  New workspace
                </a>
              )}
            </div>
            <div class="topbar-group">
              <span class="user-chip">
                <span class="avatar" aria-hidden="true">
                  {(shell.user.name || shell.user.email).slice(0, 1)}
                </span>
                <span>{shell.user.email}</span>
              </span>
              <form method="post" action="/logout">
                <button type="submit" class="btn-sm">
                  Sign out
                </button>
              </form>
            </div>
          </header>
          <main id="main" tabindex={-1}>
            {shell.flash && <Alert kind={shell.flash.kind}>{shell.flash.text}</Alert>}
            {props.children}
          </main>
        </div>
      </div>
    </Document>
  );
}

/** Sign-in, setup and second-factor pages: one centred card. */
export function AuthLayout(props: { title: string; assets: AssetUrls; flash?: Flash | null; children?: Child; foot?: Child }) {
  return (
    <Document title={props.title} assets={props.assets}>
      <main id="main" class="auth-page">
        <div class="auth-card">
          <a class="brand" href="/">
            <BrandMark />
            Molthub
          </a>
          <div class="card">
            {props.flash && <Alert kind={props.flash.kind}>{props.flash.text}</Alert>}
            {props.children}
          </div>
          {props.foot && <div class="auth-foot">{props.foot}</div>}
        </div>
      </main>
    </Document>
  );
}

/** Public pages with a wide body, like the API reference for a visitor who is not signed in. */
export function PublicLayout(props: { title: string; assets: AssetUrls; children?: Child }) {
  return (
    <Document title={props.title} assets={props.assets}>
      <a class="skip-link" href="#main">
        Skip to content
      </a>
      <header class="doc-top">
        <a class="brand" href="/">
          <BrandMark />
          Molthub
        </a>
        <a class="btn btn-sm" href="/login">
          Sign in
        </a>
      </header>
      <main id="main" class="doc-page" tabindex={-1}>
        {props.children}
      </main>
    </Document>
  );
}
