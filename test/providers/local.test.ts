/**
 * The provider contract against the local provider: a real OpenClaw gateway process on this machine, DNS-sinkholed
 * (`unshare --mount`, root) and bound to loopback. Needs the OpenClaw fixture install (test/infra/fixtures.sh);
 * skipped without it, except under CI, where a missing install fails the run.
 */
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { local } from "../../providers/local/index.ts";
import { silentLogger } from "../../src/log.ts";
import { describeWithComponent } from "../infra/components.ts";
import { OPENCLAW_VERSION, openClawInstallProblem, resolveOpenClawInstall } from "../infra/gateway-process.ts";
import { parseEnviron, providerContract, type TargetFile } from "./contract.ts";

const install = resolveOpenClawInstall();
const problem = openClawInstallProblem(install);

describeWithComponent(
  `local provider contract with a real OpenClaw ${OPENCLAW_VERSION} gateway`,
  problem ? { name: "openclaw", available: false, reason: problem, hint: "bash test/infra/fixtures.sh" } : true,
  () =>
    providerContract("local", async () => {
      const dir = mkdtempSync(join(tmpdir(), "molthub-contract-local-"));
      const resolvConf = join(dir, "resolv.sinkhole.conf");
      writeFileSync(resolvConf, "nameserver 127.0.0.1\n");
      const file = async (path: string): Promise<TargetFile | null> => {
        try {
          return { mode: statSync(path).mode, text: readFileSync(path, "utf8") };
        } catch {
          return null;
        }
      };
      const deps = {
        botsDir: join(dir, "bots"),
        installDir: join(dir, "openclaw"),
        openclawDir: install.packageDir,
        openclawNode: install.node,
        resolvConf,
        dockerMountOpenclaw: false,
        logger: silentLogger,
      };
      return {
        module: local,
        deps,
        target: { provider: "local", version: OPENCLAW_VERSION },
        readFile: file,
        processEnv: async (_bot, observed) => parseEnviron(readFileSync(`/proc/${observed.pid}/environ`, "utf8")),
        visible: async (bot, observed) => ({
          // what any user of the machine can read: the gateway's argv (OpenClaw retitles it; the kernel's copy) and
          // its console output
          cmdline: readFileSync(`/proc/${observed.pid}/cmdline`, "utf8"),
          "stdout.log": (await file(join(local.layout(bot, deps, () => {}).stateDir, "logs", "stdout.log")))?.text ?? "",
        }),
        teardown: async () => rmSync(dir, { recursive: true, force: true }),
      };
    }),
);
