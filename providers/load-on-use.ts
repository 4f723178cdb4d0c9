import type { BotLayout } from "../src/domain/openclaw-config.ts";
import type { BotRef, Provider, ProviderDeps, ProviderModule } from "./provider.ts";

/** A provider the appliance holds from start-up; `closeAll()` closes what the loaded implementation keeps open. */
export type LoadedOnUse = Provider & { closeAll(): Promise<void> };

/**
 * A provider whose implementation is loaded on first use (`module.load`). The Docker provider pulls in dockerode,
 * the remote providers ssh2: loading them only when such a bot exists keeps start-up fast and idle memory small.
 * `layout` is the module's own answer until the implementation is loaded (it gets `warm` to start loading); after
 * that the provider's layout() is used. A failed load is retried on the next call.
 */
export function loadOnUse(module: ProviderModule, deps: ProviderDeps): LoadedOnUse {
  let loaded: Promise<Provider> | undefined;
  let instance: Provider | undefined;
  const get = () =>
    (loaded ??= module.load(deps).then(
      (p) => (instance = p),
      (e) => {
        loaded = undefined;
        throw e;
      },
    ));
  const warm = () => void get().catch(() => {});
  const p: LoadedOnUse = {
    kind: module.kind as Provider["kind"],
    capabilities: module.capabilities,
    layout: (bot: BotRef): BotLayout => (instance ? instance.layout(bot) : module.layout(bot, deps, warm)),
    ensure: async (bot, signal) => (await get()).ensure(bot, signal),
    configure: async (bot, signal) => (await get()).configure(bot, signal),
    start: async (bot, signal) => (await get()).start(bot, signal),
    stop: async (bot, opts, signal) => (await get()).stop(bot, opts, signal),
    observe: async (bot, signal) => (await get()).observe(bot, signal),
    logs: async function* (bot, opts, signal) {
      yield* (await get()).logs(bot, opts, signal);
    },
    destroy: async (bot, opts, signal) => (await get()).destroy(bot, opts, signal),
    endpoint: async (bot, signal) => (await get()).endpoint(bot, signal),
    // SSH forwards (remote engines, gateway endpoints) at shutdown; nothing to close when it was never loaded
    closeAll: async () => (instance as Partial<LoadedOnUse> | undefined)?.closeAll?.(),
  };
  if (module.capabilities.validate) p.validate = async (bot, signal) => (await get()).validate!(bot, signal);
  return p;
}
