import type { LocalForward } from "../../src/ssh/forward.ts";
import type { BotRef, Endpoint } from "../provider.ts";
import { toProviderError } from "./errors.ts";
import type { RemotePool } from "./remote-host.ts";

/**
 * One SSH port forward per bot (by bot id) to the gateway's loopback port on its host, so the gateway sees a
 * loopback client: reused while the bot's pool id and port stay the same (an endpoint's close() keeps it), opened
 * again once it closed, closed by close() (destroy) and closeAll() (appliance shutdown). Used by the remote service
 * providers and by the Docker provider for host-network containers on a remote engine.
 */
export class BotForwards {
  private readonly forwards = new Map<string, { key: string; fwd: Promise<LocalForward> }>();

  /** the bots (ids) with a forward */
  ids(): string[] {
    return [...this.forwards.keys()];
  }

  /** ws/http URLs on the local end of the bot's forward; a failure is a ProviderError naming the bot and host. */
  async endpoint(pool: Pick<RemotePool, "forward">, bot: BotRef, poolId: string, hostName: string): Promise<Endpoint> {
    const port = await this.localPort(pool, bot, poolId, hostName);
    return { wsUrl: `ws://127.0.0.1:${port}`, httpUrl: `http://127.0.0.1:${port}`, close: async () => {} };
  }

  /** The local port of the bot's forward (opened, or reopened, as needed). */
  async localPort(pool: Pick<RemotePool, "forward">, bot: BotRef, poolId: string, hostName: string): Promise<number> {
    const key = `${poolId}\0${bot.port}`;
    let cur = this.forwards.get(bot.id);
    if (cur && cur.key !== key) {
      await this.close(bot.id);
      cur = undefined;
    }
    if (cur) {
      const f = await cur.fwd.catch(() => null);
      if (!f || f.closed) {
        if (this.forwards.get(bot.id) === cur) this.forwards.delete(bot.id);
        cur = undefined;
      }
    }
    if (!cur) {
      const entry = { key, fwd: pool.forward(poolId, { host: "127.0.0.1", port: bot.port }) };
      cur = entry;
      this.forwards.set(bot.id, entry);
      entry.fwd.catch(() => {
        if (this.forwards.get(bot.id) === entry) this.forwards.delete(bot.id);
      });
    }
    let f: LocalForward;
    try {
      f = await cur.fwd;
    } catch (e) {
      throw toProviderError(e, `forwarding to ${bot.name} on ${hostName}`);
    }
    return f.port;
  }

  async close(botId: string): Promise<void> {
    const cur = this.forwards.get(botId);
    if (!cur) return;
    this.forwards.delete(botId);
    const f = await cur.fwd.catch(() => null);
    await f?.close();
  }

  async closeAll(): Promise<void> {
    await Promise.all(this.ids().map((id) => this.close(id)));
  }
}
