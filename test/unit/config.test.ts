import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { isAbsolute, join, relative } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { defaults, resolveSettings, SettingsError } from "../../src/config.ts";

const root = mkdtempSync(join(tmpdir(), "molthub-config-"));
afterAll(() => rmSync(root, { recursive: true, force: true }));

let n = 0;
/** A fresh data dir (so no stray ./data/molthub.yaml is ever picked up) and a helper to write files in it. */
function dir() {
  const d = join(root, `d${n++}`);
  mkdirSync(d);
  const file = (name: string, text: string) => {
    const p = join(d, name);
    writeFileSync(p, text);
    return p;
  };
  return { d, file };
}

/** Runs resolveSettings and returns the SettingsError it throws (fails the test if it does not throw one). */
function settingsError(...args: Parameters<typeof resolveSettings>): SettingsError {
  try {
    resolveSettings(...args);
  } catch (e) {
    expect(e).toBeInstanceOf(SettingsError);
    return e as SettingsError;
  }
  throw new Error("expected a SettingsError, got settings");
}

describe("settings precedence: flags > env > config file > defaults", () => {
  it("uses the defaults when nothing is given", () => {
    const { d } = dir();
    const s = resolveSettings({ dataDir: d }, {});
    expect(s).toMatchObject({
      host: defaults.host,
      port: defaults.port,
      logLevel: "info",
      trustProxy: false,
      sessionTtlHours: defaults.sessionTtlHours,
      maxBodyBytes: defaults.maxBodyBytes,
    });
    expect(s.publicUrl).toBeUndefined();
    expect(s.tlsCert).toBeUndefined();
  });

  it("resolves the data dir to an absolute path", () => {
    const { d } = dir();
    const rel = relative(process.cwd(), d);
    expect(isAbsolute(rel)).toBe(false);
    const s = resolveSettings({ dataDir: rel }, {});
    expect(s.dataDir).toBe(d);
  });

  it("a config file overrides the defaults", () => {
    const { d, file } = dir();
    const cfg = file("c.yaml", "port: 9001\nhost: 0.0.0.0\nlogLevel: debug\ntrustProxy: true\n");
    const s = resolveSettings({ dataDir: d, config: cfg }, {});
    expect(s).toMatchObject({
      port: 9001,
      host: "0.0.0.0",
      logLevel: "debug",
      trustProxy: true,
      sessionTtlHours: defaults.sessionTtlHours,
    });
  });

  it("finds <dataDir>/molthub.yaml without --config, and MOLTHUB_CONFIG names one too", () => {
    const { d, file } = dir();
    file("molthub.yaml", "port: 9100\n");
    expect(resolveSettings({ dataDir: d }, {}).port).toBe(9100);
    expect(resolveSettings({}, { MOLTHUB_DATA_DIR: d }).port).toBe(9100);
    const other = file("other.yaml", "port: 9200\n");
    expect(resolveSettings({ dataDir: d }, { MOLTHUB_CONFIG: other }).port).toBe(9200);
    // --config wins over MOLTHUB_CONFIG
    const third = file("third.yaml", "port: 9300\n");
    expect(resolveSettings({ dataDir: d, config: third }, { MOLTHUB_CONFIG: other }).port).toBe(9300);
  });

  it("accepts JSON as a config file (YAML is a superset) and an empty file", () => {
    const { d, file } = dir();
    expect(resolveSettings({ dataDir: d, config: file("c.json", '{"port": 9400, "logLevel": "warn"}') }, {})).toMatchObject({
      port: 9400,
      logLevel: "warn",
    });
    expect(resolveSettings({ dataDir: d, config: file("empty.yaml", "") }, {}).port).toBe(defaults.port);
  });

  it("env overrides the config file", () => {
    const { d, file } = dir();
    const cfg = file("c.yaml", "port: 9001\nhost: 0.0.0.0\nlogLevel: debug\n");
    const s = resolveSettings(
      { dataDir: d, config: cfg },
      { MOLTHUB_PORT: "9002", MOLTHUB_LOG_LEVEL: "error", MOLTHUB_TRUST_PROXY: "yes", MOLTHUB_SESSION_TTL_HOURS: "2" },
    );
    expect(s).toMatchObject({ port: 9002, host: "0.0.0.0", logLevel: "error", trustProxy: true, sessionTtlHours: 2 });
  });

  it("an empty env variable counts as unset", () => {
    const { d, file } = dir();
    const cfg = file("c.yaml", "port: 9001\n");
    expect(resolveSettings({ dataDir: d, config: cfg }, { MOLTHUB_PORT: "" }).port).toBe(9001);
  });

  it("flags override env and the config file", () => {
    const { d, file } = dir();
    const cfg = file("c.yaml", "port: 9001\nhost: 0.0.0.0\n");
    const s = resolveSettings(
      { dataDir: d, config: cfg, port: "9003", host: "::1", logLevel: undefined },
      { MOLTHUB_PORT: "9002", MOLTHUB_HOST: "127.0.0.2", MOLTHUB_LOG_LEVEL: "warn" },
    );
    expect(s).toMatchObject({ port: 9003, host: "::1", logLevel: "warn" });
  });

  it("the data dir flag beats MOLTHUB_DATA_DIR", () => {
    const a = dir();
    const b = dir();
    expect(resolveSettings({ dataDir: a.d }, { MOLTHUB_DATA_DIR: b.d }).dataDir).toBe(a.d);
    expect(resolveSettings({}, { MOLTHUB_DATA_DIR: b.d }).dataDir).toBe(b.d);
  });
});

describe("invalid settings name the setting and where it came from", () => {
  it("a bad flag", () => {
    const { d } = dir();
    const e = settingsError({ dataDir: d, port: "abc" }, {});
    expect(e.message).toContain("port (flag --port)");
  });

  it("a bad env value", () => {
    const { d } = dir();
    expect(settingsError({ dataDir: d }, { MOLTHUB_PORT: "70000" }).message).toContain("port (env MOLTHUB_PORT)");
    expect(settingsError({ dataDir: d }, { MOLTHUB_LOG_LEVEL: "loud" }).message).toContain("logLevel (env MOLTHUB_LOG_LEVEL)");
    expect(settingsError({ dataDir: d }, { MOLTHUB_MAX_BODY_BYTES: "10" }).message).toContain(
      "maxBodyBytes (env MOLTHUB_MAX_BODY_BYTES)",
    );
    expect(settingsError({ dataDir: d }, { MOLTHUB_PUBLIC_URL: "not a url" }).message).toContain(
      "publicUrl (env MOLTHUB_PUBLIC_URL)",
    );
  });

  it("a bad boolean in env names the variable", () => {
    const { d } = dir();
    const e = settingsError({ dataDir: d }, { MOLTHUB_TRUST_PROXY: "maybe" });
    expect(e.message).toContain("MOLTHUB_TRUST_PROXY");
    expect(e.message).toContain("maybe");
  });

  it("a bad value in the config file names the file", () => {
    const { d, file } = dir();
    const cfg = file("c.yaml", 'port: "abc"\n');
    const e = settingsError({ dataDir: d, config: cfg }, {});
    expect(e.message).toContain(`port (config file ${cfg})`);
    const cfg2 = file("c2.yaml", "logLevel: loud\nsessionTtlHours: 0\n");
    const e2 = settingsError({ dataDir: d, config: cfg2 }, {});
    expect(e2.message).toContain(`logLevel (config file ${cfg2})`);
    expect(e2.message).toContain(`sessionTtlHours (config file ${cfg2})`);
  });

  it("a value that is overridden by a higher source is not reported", () => {
    const { d, file } = dir();
    const cfg = file("c.yaml", 'port: "abc"\n');
    expect(resolveSettings({ dataDir: d, config: cfg }, { MOLTHUB_PORT: "9005" }).port).toBe(9005);
  });

  it("rejects an unknown key in the config file", () => {
    const { d, file } = dir();
    const cfg = file("c.yaml", "port: 9001\nprot: 9002\n");
    const e = settingsError({ dataDir: d, config: cfg }, {});
    expect(e.message).toContain("prot");
    expect(e.message).toContain("config file");
  });

  it("rejects a config file that is missing, not YAML, or not a mapping", () => {
    const { d, file } = dir();
    expect(settingsError({ dataDir: d, config: join(d, "nope.yaml") }, {}).message).toMatch(/nope\.yaml does not exist/);
    expect(settingsError({ dataDir: d, config: file("bad.yaml", "port: [1,\n") }, {}).message).toMatch(/not valid YAML/);
    expect(settingsError({ dataDir: d, config: file("list.yaml", "- 1\n- 2\n") }, {}).message).toMatch(/mapping/);
    expect(settingsError({ dataDir: d, config: file("scalar.yaml", "8080\n") }, {}).message).toMatch(/mapping/);
  });
});

describe("TLS", () => {
  it("needs both the certificate and the key", () => {
    const { d, file } = dir();
    const cert = file("cert.pem", "-----BEGIN CERTIFICATE-----\n");
    const key = file("key.pem", "-----BEGIN PRIVATE KEY-----\n");
    expect(settingsError({ dataDir: d, tlsCert: cert }, {}).message).toMatch(/TLS needs both/);
    expect(settingsError({ dataDir: d }, { MOLTHUB_TLS_KEY: key }).message).toMatch(/TLS needs both/);
    const s = resolveSettings({ dataDir: d, tlsCert: cert }, { MOLTHUB_TLS_KEY: key });
    expect(s).toMatchObject({ tlsCert: cert, tlsKey: key });
  });

  it("the files must exist", () => {
    const { d, file } = dir();
    const cert = file("cert.pem", "x");
    const e = settingsError({ dataDir: d, tlsCert: cert, tlsKey: join(d, "missing-key.pem") }, {});
    expect(e.message).toContain("missing-key.pem does not exist");
  });
});
