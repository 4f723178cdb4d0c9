import { mkdtempSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { eq } from "drizzle-orm";
import { afterEach, describe, expect, it, vi } from "vitest";
import { ApiClient } from "../../src/cli/client.ts";
import { CliError } from "../../src/cli/io.ts";
import { run, splitInputs } from "../../src/cli/templates.ts";
import { botRevisions, bots } from "../../src/db/schema.ts";
import { makeTestApp } from "../helpers/app.ts";

/** The CLI module against the real app, served on loopback. */
async function serve() {
  const t = makeTestApp();
  const { cookie } = await t.setupOwner();
  const res = await t.req("/api/v1/tokens", { method: "POST", cookie, json: { name: "cli", role: "owner" } });
  const { token } = (await res.json()) as { token: string };
  const server = Bun.serve({ hostname: "127.0.0.1", port: 0, fetch: (req) => t.app.fetch(req) });
  const client = new ApiClient({ server: `http://127.0.0.1:${server.port}`, token }, {});
  await client.call("PUT", "/api/v1/secrets/tg-token", { value: "123456789:AAHdqTcvCH1vGWJxfSeofSAs0K5PALDsawQ" });
  return { t, client, server };
}

let stop: (() => void) | undefined;
afterEach(() => {
  stop?.();
  stop = undefined;
  vi.restoreAllMocks();
});

function capture() {
  const out: string[] = [];
  vi.spyOn(console, "log").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(console, "error").mockImplementation((...a: unknown[]) => void out.push(a.join(" ")));
  vi.spyOn(process.stdout, "write").mockImplementation(((s: string) => (out.push(String(s)), true)) as never);
  return out;
}

describe("molthub template …", () => {
  it("splits --input pairs into inputs, target and metadata", () => {
    expect(
      splitInputs([
        "botTokenSecret=tg",
        "target.provider=docker",
        "target.cpus=1.5",
        "metadata.fleet=home",
        "metadata.labels.team=x",
        "allowFrom=1,2",
      ]),
    ).toEqual({
      inputs: { botTokenSecret: "tg", allowFrom: "1,2" },
      target: { provider: "docker", cpus: 1.5 },
      fleet: "home",
      environment: undefined,
      labels: { team: "x" },
    });
    expect(() => splitInputs(["novalue"])).toThrow(CliError);
    expect(() => splitInputs(["a.b=c"])).toThrow(/plain names/);
  });

  it("lists, gets, uses a template (dry run first), applies and deletes a user template", async () => {
    const { t, client, server } = await serve();
    stop = () => server.stop(true);
    let out = capture();
    expect(await run(client, ["template", "list"])).toBe(0);
    expect(out.join("\n")).toMatch(/telegram-bot\s+built-in\s+Telegram bot\s+botTokenSecret\s+0/);

    out = capture();
    expect(await run(client, ["template", "get", "slack-workspace"])).toBe(0);
    expect(out.join("\n")).toContain("appTokenSecret (secret; required)");
    out = capture();
    await run(client, ["template", "get", "minimal-gateway", "--output", "yaml"]);
    expect(out.join("")).toContain("kind: Template");

    out = capture();
    expect(
      await run(client, [
        "template",
        "use",
        "telegram-bot",
        "--name",
        "cli-bot",
        "--input",
        "botTokenSecret=tg-token",
        "--input",
        "metadata.environment=prod",
        "--dry-run",
      ]),
    ).toBe(0);
    expect(out.join("\n")).toContain("bot/cli-bot would be created");
    expect(t.store.db.select().from(bots).all()).toHaveLength(0);
    out = capture();
    expect(
      await run(client, [
        "template",
        "use",
        "telegram-bot",
        "--name",
        "cli-bot",
        "--input",
        "botTokenSecret=tg-token",
        "--input",
        "metadata.environment=prod",
        "--input",
        "target.version=2026.9.6",
      ]),
    ).toBe(0);
    const b = t.store.db.select().from(bots).where(eq(bots.name, "cli-bot")).get()!;
    expect(b.environment).toBe("prod");
    const rev = t.store.db.select().from(botRevisions).where(eq(botRevisions.botId, b.id)).get()!;
    expect(JSON.parse(rev.manifest).spec.template.name).toBe("telegram-bot");

    // a wrong input is refused with its path
    await expect(
      run(client, [
        "template",
        "use",
        "telegram-bot",
        "--name",
        "cli-bot2",
        "--input",
        "dmPolicy=open",
        "--input",
        "botTokenSecret=tg-token",
      ]),
    ).rejects.toThrow(/inputs\.dmPolicy/);

    const dir = mkdtempSync(join(tmpdir(), "molthub-tpl-"));
    const file = join(dir, "t.yaml");
    writeFileSync(
      file,
      `apiVersion: molthub/v1
kind: Template
metadata: { name: cli-tpl, title: CLI template }
spec:
  inputs: [{ name: model, label: Model, type: string, default: anthropic/claude-sonnet-4-5 }]
  openclaw: { agents: { defaults: { model: "{{ inputs.model }}" } } }
`,
    );
    out = capture();
    expect(await run(client, ["template", "apply", "--file", file])).toBe(0);
    expect(out.join("\n")).toContain("template/cli-tpl created (version 1)");
    await run(client, ["template", "use", "cli-tpl", "--name", "from-cli-tpl"]);
    writeFileSync(
      file,
      `apiVersion: molthub/v1
kind: Template
metadata: { name: cli-tpl, title: CLI template }
spec:
  inputs: [{ name: model, label: Model, type: string, default: openai/gpt-5 }]
  openclaw: { agents: { defaults: { model: "{{ inputs.model }}" } } }
`,
    );
    out = capture();
    expect(await run(client, ["template", "apply", "--file", file, "--dry-run"])).toBe(0);
    expect(out.join("\n")).toContain("bot/from-cli-tpl would get revision 2");
    expect(out.join("\n")).toContain("agents.defaults.model");
    await expect(run(client, ["template", "delete", "cli-tpl"])).rejects.toThrow(/used by from-cli-tpl/);
    await client.call("DELETE", "/api/v1/bots/from-cli-tpl");
    out = capture();
    expect(await run(client, ["template", "delete", "cli-tpl"])).toBe(0);
    expect(out.join("\n")).toContain("template/cli-tpl deleted");
  });
});
