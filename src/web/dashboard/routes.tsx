/** @jsxImportSource hono/jsx */
import { Hono } from "hono";
import { roleRank } from "../../core/context.ts";
import type { AppEnv } from "../../server/deps.ts";
import { ctxOf } from "../../server/deps.ts";
import { listAudit } from "../../services/audit.ts";
import { listTokens } from "../../services/tokens.ts";
import { getCurrentWorkspace, listMembers } from "../../services/workspaces.ts";
import { renderPage } from "../page-response.tsx";
import { signedIn } from "../signed-in.ts";
import { SECTIONS, SectionPage } from "../ui/coming-soon.tsx";
import { DashboardPage, NoWorkspacePage } from "./page.tsx";

const DAY_CAP = 500;

/** The dashboard and the sections whose features arrive later (an honest empty state each). */
export function dashboardPages() {
  const app = new Hono<AppEnv>();

  app.get("/", signedIn, (c) => {
    const actor = c.get("actor")!;
    const session = c.get("session")!;
    if (!actor.workspaceId || !actor.role) return renderPage(c, "Dashboard", <NoWorkspacePage email={session.user.email} />);
    const ctx = ctxOf(c);
    const now = c.get("deps").now();
    const tokens = listTokens(ctx);
    const lastDay = listAudit(ctx, { from: now - 86_400_000, limit: DAY_CAP }).items.length;
    const data = {
      userName: session.user.name || session.user.email,
      workspace: getCurrentWorkspace(ctx),
      role: actor.role,
      members: listMembers(ctx).length,
      tokens: {
        active: tokens.filter((t) => !t.revokedAt && (t.expiresAt === null || t.expiresAt > now)).length,
        scope: roleRank(actor.role) >= roleRank("admin") ? ("workspace" as const) : ("mine" as const),
      },
      recent: listAudit(ctx, { limit: 8 }).items,
      lastDay: { count: lastDay, more: lastDay >= DAY_CAP },
      totpEnabled: session.user.totpEnabled,
    };
    return renderPage(c, "Dashboard", <DashboardPage data={data} />);
  });

  for (const section of SECTIONS) {
    app.get(section.path, signedIn, (c) => renderPage(c, section.title, <SectionPage section={section} />));
  }

  return app;
}
