/**
 * In-process publish/subscribe for live UI updates (server-sent events). Messages are scoped to a
 * workspace; a subscriber only ever receives its own workspace's messages.
 */
export interface LiveEvent {
  workspaceId: string | null;
  type: string;
  data: unknown;
}

export class EventBus {
  private subs = new Set<{ workspaceId: string; fn: (e: LiveEvent) => void }>();

  publish(e: LiveEvent): void {
    for (const s of this.subs) {
      if (e.workspaceId === s.workspaceId) {
        try {
          s.fn(e);
        } catch {
          // a broken subscriber must not break the publisher
        }
      }
    }
  }

  subscribe(workspaceId: string, fn: (e: LiveEvent) => void): () => void {
    const s = { workspaceId, fn };
    this.subs.add(s);
    return () => this.subs.delete(s);
  }

  get size(): number {
    return this.subs.size;
  }
}
