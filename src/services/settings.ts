import { getRetentionDays, pruneAudit, recordAudit } from "../core/audit.ts";
import { authorize, type ServiceContext } from "../core/context.ts";
import { settings } from "../db/schema.ts";

export interface InstanceSettings {
  auditRetentionDays: number;
}

export function getSettings(ctx: ServiceContext): InstanceSettings {
  authorize(ctx, "viewer");
  return { auditRetentionDays: getRetentionDays(ctx.db) };
}

/** Instance-wide settings; only an owner may change them. Saving a shorter retention prunes at once. */
export function updateSettings(ctx: ServiceContext, input: Partial<InstanceSettings>): InstanceSettings & { pruned: number } {
  authorize(ctx, "owner");
  const before = getRetentionDays(ctx.db);
  if (input.auditRetentionDays !== undefined) {
    ctx.db.transaction(
      (tx) => {
        tx.insert(settings)
          .values({ key: "audit.retentionDays", value: JSON.stringify(input.auditRetentionDays), updatedAt: ctx.now() })
          .onConflictDoUpdate({
            target: settings.key,
            set: { value: JSON.stringify(input.auditRetentionDays), updatedAt: ctx.now() },
          })
          .run();
        recordAudit(tx, ctx, {
          action: "settings.update",
          resourceType: "settings",
          resourceId: "audit.retentionDays",
          summary: { auditRetentionDays: { from: before, to: input.auditRetentionDays } },
        });
      },
      { behavior: "immediate" },
    );
  }
  const days = getRetentionDays(ctx.db);
  const { pruned } = pruneAudit(ctx.db, ctx.keyring, ctx, days);
  return { auditRetentionDays: days, pruned };
}
