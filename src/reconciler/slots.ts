import { availableParallelism } from "node:os";

/**
 * How many reconcile jobs run at once: a global bound, and a bound per target (an SSH host, a Docker engine, this
 * machine) so one slow or unreachable target cannot take every slot and starve the bots elsewhere. Jobs of one bot
 * never overlap: the queue claims a bot's next job only when its previous one finished.
 */
export class JobSlots {
  private readonly byTarget = new Map<string, number>();
  private total = 0;

  constructor(
    readonly limit: number,
    readonly perTarget: number,
  ) {}

  get running(): number {
    return this.total;
  }

  full(): boolean {
    return this.total >= this.limit;
  }

  /** Targets that have no slot left: the queue skips their jobs until one finishes. */
  saturated(): string[] {
    return [...this.byTarget].filter(([, n]) => n >= this.perTarget).map(([t]) => t);
  }

  take(target: string): void {
    this.total++;
    this.byTarget.set(target, (this.byTarget.get(target) ?? 0) + 1);
  }

  release(target: string): void {
    this.total = Math.max(0, this.total - 1);
    const n = (this.byTarget.get(target) ?? 1) - 1;
    if (n > 0) this.byTarget.set(target, n);
    else this.byTarget.delete(target);
  }
}

/**
 * Defaults sized for the machine. A job mostly waits (on a gateway that starts in 12–30 s, on SSH, on an engine),
 * so twice the cores run at once; starting gateways on one target is CPU-bound there, so a target gets about one
 * slot per core of this machine (the best guess without knowing the target's size). Both are settings.
 */
export function defaultConcurrency(cpus = availableParallelism()): { jobs: number; perTarget: number } {
  return { jobs: Math.min(32, Math.max(4, 2 * cpus)), perTarget: Math.min(8, Math.max(2, cpus)) };
}
