import type { Tx } from "../db/client.ts";
import type { ServiceContext } from "./context.ts";

class DryRunRollback extends Error {
  constructor(readonly result: unknown) {
    super("rolled back (dry run)");
  }
}

/**
 * Runs `fn` in one immediate transaction. With `dryRun` everything it wrote is rolled back and its result is
 * returned anyway (a preview of the change: blast radius, findings). The one dry-run style: a preview runs the
 * same code as the real change, so the two cannot disagree.
 */
export function inTransaction<T>(ctx: Pick<ServiceContext, "db">, dryRun: boolean, fn: (tx: Tx) => T): T {
  try {
    return ctx.db.transaction(
      (tx) => {
        const r = fn(tx);
        if (dryRun) throw new DryRunRollback(r);
        return r;
      },
      { behavior: "immediate" },
    );
  } catch (e) {
    if (e instanceof DryRunRollback) return e.result as T;
    throw e;
  }
}
