/**
 * The provider contract against the systemd provider: a REAL systemd + sshd host container (test/infra/systemd-host.ts,
 * host network, sshd on 127.0.0.1, DNS sinkhole) reached over SSH with a pinned key, running a REAL OpenClaw gateway
 * as a user unit of the lingering login `molt` (the fixture install mounted at the remote layout's prefix). Needs
 * dockerd, the host image and the OpenClaw install (`bash test/infra/fixtures.sh --with-systemd-host`); skipped
 * without them, except under CI, where their absence fails the run.
 *
 * launchd has no contract run: no macOS machine is available to this project (see providers/launchd/provider.ts).
 */

import { systemd } from "../../providers/systemd/index.ts";
import { unitName, unitPath } from "../../providers/systemd/unit.ts";
import { silentLogger } from "../../src/log.ts";
import { generateEd25519KeyPair } from "../../src/ssh/keys.ts";
import { SshPool } from "../../src/ssh/pool.ts";
import { checkComponents, describeWithComponent, fixtures } from "../infra/components.ts";
import { startSystemdHost, testHostAccess } from "../infra/systemd-host.ts";
import { parseEnviron, providerContract } from "./contract.ts";

const fx = fixtures();
const needs = await checkComponents("docker", "systemd-host-image", "openclaw");

describeWithComponent(`systemd provider contract against a real systemd host and OpenClaw ${fx.openclawVersion}`, needs, () =>
  providerContract("systemd", async () => {
    const key = generateEd25519KeyPair("molthub-test-appliance");
    const host = await startSystemdHost({ authorizedKeys: [key.publicKey], labels: { "molthub.test": "provider-contract" } });
    const pool = new SshPool({ defaultTimeoutMs: 30_000 });
    pool.setHost("nas", {
      host: "127.0.0.1",
      port: host.port,
      username: "molt",
      privateKey: key.privateKey,
      hostKey: { mode: "pinned", fingerprint: host.fingerprint },
      keepaliveIntervalMs: 1_000,
      keepaliveCountMax: 3,
      readyTimeoutMs: 5_000,
    });
    const info = {
      poolId: "nas",
      name: "nas",
      address: "127.0.0.1",
      port: host.port,
      username: "molt",
      isRoot: false,
      os: "debian",
      init: "systemd",
      home: "/home/molt",
      platform: "linux-x64",
    };
    const asMolt = ["runuser", "-u", "molt", "--", "env", "XDG_RUNTIME_DIR=/run/user/1000"];
    return {
      module: systemd,
      deps: {
        botsDir: "/nonexistent",
        installDir: "/nonexistent",
        dockerMountOpenclaw: false,
        logger: silentLogger,
        hosts: testHostAccess(pool, [info]),
      },
      target: { provider: "systemd", host: "nas", version: fx.openclawVersion },
      async readFile(path) {
        const st = host.exec(["stat", "-c", "%a", "--", path]);
        if (st.status !== 0) return null;
        return { mode: Number.parseInt(st.stdout.trim(), 8), text: host.exec(["cat", "--", path]).stdout };
      },
      processEnv: async (_bot, observed) => parseEnviron(host.exec(["cat", `/proc/${observed.pid}/environ`]).stdout),
      visible: async (bot, observed) => ({
        cmdline: host.exec(["cat", `/proc/${observed.pid}/cmdline`]).stdout,
        "unit file": host.exec(["cat", "--", unitPath("user", info.home, bot.name)]).stdout,
        "systemctl show": host.exec([...asMolt, "systemctl", "--user", "show", "--", unitName(bot.name)]).stdout,
        journal: host.exec(["journalctl", "--no-pager", "-o", "cat"]).stdout,
      }),
      async teardown() {
        pool.close();
        await host.stop();
      },
    };
  }),
);
