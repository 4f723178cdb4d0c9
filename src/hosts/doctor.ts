/**
 * The host doctor: what a host needs to run OpenClaw bots, each finding with what to do about it.
 *
 * One constant POSIX `sh` script gathers everything in a single round trip (no user value is ever spliced into it;
 * it only reads `$HOME` and `id`), printing `==== <section>` headers. `parseGather` turns the output into facts and
 * `diagnose` into findings, so both are unit-testable with canned output. Connection problems (unreachable, wrong
 * user or key, changed host key) become a single `connection` finding naming cause and fix.
 *
 * `installOpenClaw` puts `openclaw@<version>` and a matching `node-<platform>` into `<base>/openclaw/<version>` with
 * npm, into a temp dir renamed into place, so a failed install leaves nothing behind.
 */

import { PORT_BASE, PORT_SPACING } from "../domain/openclaw-config.ts";
import { HostKeyMismatchError, HostKeyNotPinnedError } from "../ssh/hostkey.ts";
import { type ExecOptions, type ExecResult, SshError } from "../ssh/pool.ts";
import { remoteLayout } from "./host-access.ts";

type FindingLevel = "ok" | "warn" | "error";
export interface Finding {
  id: string;
  level: FindingLevel;
  message: string;
  fix: string;
}

interface InstalledOpenClaw {
  /** the version dir name under <base>/openclaw */
  version: string;
  /** `version` of node_modules/openclaw/package.json, null when absent */
  packageVersion: string | null;
  /** node-<platform> packages beside it: platform → `v26.10.0` (empty string when the binary does not run) */
  node: Record<string, string>;
}

export interface HostFacts {
  uid: number | null;
  user: string;
  home: string;
  /** linux-x64, linux-arm64, darwin-arm64, darwin-x64; null when unsupported */
  platform: string | null;
  kernel: string;
  machine: string;
  os: string;
  /** systemd | launchd | none */
  init: string;
  initVersion: string;
  pid1: string;
  linger: boolean;
  base: string;
  nodeOnPath: { path: string; version: string } | null;
  npm: string | null;
  openclaw: InstalledOpenClaw[];
  /** listening TCP ports */
  listening: number[];
  disk: { availableKb: number; mount: string } | null;
  memory: { availableKb: number; totalKb: number | null } | null;
}

export interface DoctorReport {
  ts: number;
  findings: Finding[];
  facts: HostFacts | null;
}

/** OpenClaw 2026.x needs Node ≥ 24.16. */
const MIN_NODE: [number, number] = [24, 16];
/** The Node installed beside OpenClaw by `installOpenClaw` (npm package node-<platform>). */
const DEFAULT_REMOTE_NODE_VERSION = "26.10.0";
/** How many gateway port slots the doctor checks (PORT_BASE + i * PORT_SPACING, and +2 for browser control). */
const PORT_SLOTS = 20;

/** The gather script: constant text; `$HOME` and `id` are its only inputs. */
const GATHER_SCRIPT = String.raw`
sec() { printf '\n==== %s\n' "$1"; }
if [ "$(id -u)" = 0 ]; then base=/var/lib/molthub; else base="$HOME/.molthub"; fi
sec id; id -u; id -un
sec home; printf '%s\n' "$HOME"
sec base; printf '%s\n' "$base"
sec uname; uname -s; uname -m
sec os-release; cat /etc/os-release 2>/dev/null
sec sw_vers; sw_vers 2>/dev/null
sec pid1; cat /proc/1/comm 2>/dev/null || ps -p 1 -o comm= 2>/dev/null
sec systemctl; systemctl --version 2>/dev/null | head -n 1
sec launchctl; command -v launchctl 2>/dev/null
sec linger; u=$(id -un); if [ -e "/var/lib/systemd/linger/$u" ]; then echo "file=yes"; fi; loginctl show-user "$u" -p Linger 2>/dev/null
sec node; if p=$(command -v node 2>/dev/null); then printf '%s\t%s\n' "$p" "$(node --version 2>/dev/null)"; fi
sec npm; command -v npm 2>/dev/null
sec openclaw
for d in "$base"/openclaw/*; do
  [ -d "$d" ] || continue
  v=$(basename "$d"); pj="$d/node_modules/openclaw/package.json"; ov=; nv=
  if [ -f "$pj" ]; then ov=$(sed -n 's/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\([^"]*\)".*/\1/p' "$pj" | head -n 1); fi
  for n in "$d"/node_modules/node-*/bin/node; do
    [ -e "$n" ] || continue
    pkg=$(basename "$(dirname "$(dirname "$n")")"); nv="$nv $pkg=$("$n" --version 2>/dev/null)"
  done
  printf '%s\t%s\t%s\n' "$v" "$ov" "$nv"
done
sec ports; ss -ltnH 2>/dev/null || netstat -an -p tcp 2>/dev/null | grep LISTEN
sec df; t=$base; [ -d "$t" ] || t=$HOME; df -Pk "$t" 2>/dev/null | tail -n 1
sec mem
if [ -r /proc/meminfo ]; then grep -E '^(MemTotal|MemAvailable):' /proc/meminfo
else sysctl -n hw.memsize 2>/dev/null | sed 's/^/hw.memsize /'; vm_stat 2>/dev/null | grep -E 'page size|Pages free|Pages inactive'; fi
sec end
`;

type Exec = (argv: string[], opts?: ExecOptions) => Promise<ExecResult>;

export function sections(out: string): Record<string, string> {
  const res: Record<string, string> = {};
  let cur: string | null = null;
  let buf: string[] = [];
  for (const line of out.split("\n")) {
    const m = /^==== (.+)$/.exec(line);
    if (m) {
      if (cur) res[cur] = buf.join("\n").trim();
      cur = m[1]!.trim();
      buf = [];
    } else if (cur) buf.push(line);
  }
  if (cur) res[cur] = buf.join("\n").trim();
  return res;
}

export function platformOf(kernel: string, machine: string): string | null {
  const os = kernel.toLowerCase() === "linux" ? "linux" : kernel.toLowerCase() === "darwin" ? "darwin" : null;
  const m = machine.toLowerCase();
  const arch = m === "x86_64" || m === "amd64" ? "x64" : m === "aarch64" || m === "arm64" ? "arm64" : null;
  return os && arch ? `${os}-${arch}` : null;
}

/** `v26.10.0` / `26.10.0` → [26, 10, 0]; null when not a version. */
function parseNodeVersion(v: string): [number, number, number] | null {
  const m = /^v?(\d+)\.(\d+)\.(\d+)/.exec(v.trim());
  return m ? [Number(m[1]), Number(m[2]), Number(m[3])] : null;
}

function nodeSuitable(v: string): boolean {
  const p = parseNodeVersion(v);
  return !!p && (p[0] > MIN_NODE[0] || (p[0] === MIN_NODE[0] && p[1] >= MIN_NODE[1]));
}

function osReleaseName(text: string): string | null {
  const kv: Record<string, string> = {};
  for (const l of text.split("\n")) {
    const m = /^([A-Z_]+)=(.*)$/.exec(l.trim());
    if (m) kv[m[1]!] = m[2]!.replace(/^"(.*)"$/, "$1");
  }
  return kv.PRETTY_NAME || (kv.NAME ? `${kv.NAME} ${kv.VERSION_ID ?? ""}`.trim() : null);
}

function parsePorts(text: string): number[] {
  const ports = new Set<number>();
  for (const line of text.split("\n")) {
    // ss: "LISTEN 0 128 127.0.0.1:18800 0.0.0.0:*"; netstat (macOS): "tcp4 0 0 127.0.0.1.18800 *.* LISTEN"
    const cols = line.trim().split(/\s+/);
    const local = line.includes("LISTEN") && cols[0]?.startsWith("tcp") ? cols[3] : cols[3];
    const m = local ? /[.:](\d+)$/.exec(local) : null;
    if (m) ports.add(Number(m[1]));
  }
  return [...ports].sort((a, b) => a - b);
}

/** The gather script's output → facts. */
export function parseGather(out: string): HostFacts {
  const s = sections(out);
  const [uidLine, user = ""] = (s.id ?? "").split("\n");
  const uid = uidLine && /^\d+$/.test(uidLine.trim()) ? Number(uidLine.trim()) : null;
  const [kernel = "", machine = ""] = (s.uname ?? "").split("\n").map((x) => x.trim());
  const platform = platformOf(kernel, machine);
  let os = osReleaseName(s["os-release"] ?? "");
  if (!os && s.sw_vers) {
    const kv = Object.fromEntries(s.sw_vers.split("\n").map((l) => l.split(/:\s*/, 2).map((x) => x.trim())));
    os = [kv.ProductName, kv.ProductVersion].filter(Boolean).join(" ") || null;
  }
  os ??= kernel || "unknown";
  const pid1 = (s.pid1 ?? "").trim().split("/").pop() ?? "";
  const systemctl = (s.systemctl ?? "").trim();
  let init = "none";
  let initVersion = "";
  if (kernel === "Darwin" && s.launchctl) init = "launchd";
  else if (pid1 === "systemd" || (pid1 === "init" && systemctl && existsSystemd(systemctl))) {
    init = "systemd";
    initVersion = /systemd (\d+)/.exec(systemctl)?.[1] ?? "";
  }
  const lingerText = s.linger ?? "";
  const linger = /file=yes/.test(lingerText) || /^Linger=yes$/m.test(lingerText);
  const nodeLine = (s.node ?? "").trim();
  const [np, nv] = nodeLine.split("\t");
  const openclaw: InstalledOpenClaw[] = [];
  for (const line of (s.openclaw ?? "").split("\n")) {
    if (!line.trim()) continue;
    const [version = "", pkg = "", nodes = ""] = line.split("\t");
    const node: Record<string, string> = {};
    for (const part of nodes.trim().split(/\s+/).filter(Boolean)) {
      const eq = part.indexOf("=");
      if (eq > 0) node[part.slice(0, eq).replace(/^node-/, "")] = part.slice(eq + 1);
    }
    openclaw.push({ version, packageVersion: pkg || null, node });
  }
  let disk: HostFacts["disk"] = null;
  const dfCols = (s.df ?? "").trim().split(/\s+/);
  if (dfCols.length >= 6 && /^\d+$/.test(dfCols[3]!)) disk = { availableKb: Number(dfCols[3]), mount: dfCols.slice(5).join(" ") };
  let memory: HostFacts["memory"] = null;
  const mem = s.mem ?? "";
  const avail = /MemAvailable:\s+(\d+)/.exec(mem);
  const total = /MemTotal:\s+(\d+)/.exec(mem);
  if (avail) memory = { availableKb: Number(avail[1]), totalKb: total ? Number(total[1]) : null };
  else {
    const page = Number(/page size of (\d+)/.exec(mem)?.[1] ?? 4096);
    const free = /Pages free:\s+(\d+)/.exec(mem);
    const inactive = /Pages inactive:\s+(\d+)/.exec(mem);
    const hw = /hw\.memsize (\d+)/.exec(mem);
    if (free)
      memory = {
        availableKb: Math.floor(((Number(free[1]) + Number(inactive?.[1] ?? 0)) * page) / 1024),
        totalKb: hw ? Math.floor(Number(hw[1]) / 1024) : null,
      };
  }
  return {
    uid,
    user: user.trim(),
    home: (s.home ?? "").trim(),
    platform,
    kernel,
    machine,
    os,
    init,
    initVersion,
    pid1,
    linger,
    base: (s.base ?? "").trim(),
    nodeOnPath: np && nv ? { path: np, version: nv.trim() } : null,
    npm: (s.npm ?? "").trim() || null,
    openclaw,
    listening: parsePorts(s.ports ?? ""),
    disk,
    memory,
  };
}

function existsSystemd(systemctl: string): boolean {
  return /^systemd \d+/.test(systemctl);
}

const gib = (kb: number) => `${(kb / 1024 / 1024).toFixed(1)} GiB`;

/** Facts → findings, each with what to do. `hostName` goes into the suggested commands. */
export function diagnose(f: HostFacts, hostName: string): Finding[] {
  const out: Finding[] = [];
  const isRoot = f.uid === 0;
  const layout = remoteLayout({ isRoot, home: f.home || "~" });
  // OS
  if (!f.platform) {
    out.push({
      id: "os",
      level: "error",
      message: `${f.os} on ${f.kernel} ${f.machine} is not supported`,
      fix: "use a Linux (x86_64 or arm64) or macOS host",
    });
  } else {
    out.push({ id: "os", level: "ok", message: `${f.os} (${f.platform})`, fix: "" });
  }
  // init system
  if (f.init === "systemd")
    out.push({ id: "init", level: "ok", message: `systemd ${f.initVersion} is PID 1`.replace("  ", " "), fix: "" });
  else if (f.init === "launchd")
    out.push({ id: "init", level: "ok", message: "launchd (macOS): bots run as LaunchAgents", fix: "" });
  else {
    out.push({
      id: "init",
      level: "error",
      message: `no supported init system: PID 1 is ${f.pid1 || "unknown"}${f.kernel === "Linux" ? " and systemctl is not available" : ""}`,
      fix: "use a host booted with systemd (most Linux distributions) or macOS; or run bots there with the Docker provider",
    });
  }
  // lingering
  if (f.init === "systemd") {
    if (isRoot)
      out.push({
        id: "linger",
        level: "ok",
        message: "connecting as root: bots run as system units (lingering not needed)",
        fix: "",
      });
    else if (f.linger)
      out.push({
        id: "linger",
        level: "ok",
        message: `lingering is enabled for ${f.user}: user units keep running without a login`,
        fix: "",
      });
    else {
      out.push({
        id: "linger",
        level: "error",
        message: `lingering is off for ${f.user}: user units stop when the last session ends`,
        fix: `on the host run: sudo loginctl enable-linger ${f.user}`,
      });
    }
  } else if (f.init === "launchd") {
    out.push({
      id: "linger",
      level: "warn",
      message: `LaunchAgents run in ${f.user}'s login session`,
      fix: `keep ${f.user} logged in (enable automatic login) so bots start after a reboot`,
    });
  }
  // OpenClaw
  const complete = f.openclaw.filter((o) => o.packageVersion);
  const incomplete = f.openclaw.filter((o) => !o.packageVersion);
  const installHint = `molthub host install ${hostName} VERSION (needs npm and access to the npm registry on the host), or place an npm prefix with openclaw and node-${f.platform ?? "<platform>"} at ${layout.openclawPrefix("VERSION")}`;
  if (complete.length) {
    const list = complete
      .map((o) => (o.packageVersion === o.version ? o.version : `${o.version} (package says ${o.packageVersion})`))
      .join(", ");
    out.push({ id: "openclaw", level: "ok", message: `OpenClaw ${list} installed under ${layout.base}/openclaw`, fix: "" });
    for (const o of complete.filter((x) => x.packageVersion !== x.version)) {
      out.push({
        id: "openclaw",
        level: "warn",
        message: `${layout.openclawPrefix(o.version)} holds OpenClaw ${o.packageVersion}, not ${o.version}`,
        fix: `remove it and install ${o.version} again`,
      });
    }
  } else {
    out.push({
      id: "openclaw",
      level: "error",
      message: `OpenClaw is not installed in ${layout.base}/openclaw`,
      fix: installHint,
    });
  }
  for (const o of incomplete) {
    out.push({
      id: "openclaw",
      level: "warn",
      message: `${layout.openclawPrefix(o.version)} has no node_modules/openclaw/package.json (an incomplete install)`,
      fix: `remove ${layout.openclawPrefix(o.version)} and install ${o.version} again`,
    });
  }
  // Node
  const need = `${MIN_NODE[0]}.${MIN_NODE[1]}`;
  const platformNode = (o: InstalledOpenClaw) => (f.platform ? o.node[f.platform] : undefined);
  const withNode = complete.filter((o) => platformNode(o) && nodeSuitable(platformNode(o)!));
  const badNode = complete.filter((o) => !(platformNode(o) && nodeSuitable(platformNode(o)!)));
  if (withNode.length) {
    out.push({
      id: "node",
      level: "ok",
      message: withNode.map((o) => `Node ${platformNode(o)} beside OpenClaw ${o.version}`).join("; "),
      fix: "",
    });
  }
  for (const o of badNode) {
    const v = platformNode(o);
    if (f.nodeOnPath && nodeSuitable(f.nodeOnPath.version)) {
      out.push({
        id: "node",
        level: "warn",
        message: `OpenClaw ${o.version} has ${v ? `Node ${v}` : `no node-${f.platform ?? "<platform>"}`} beside it; the Node on PATH (${f.nodeOnPath.version}) will be used`,
        fix: `install node-${f.platform}@${DEFAULT_REMOTE_NODE_VERSION} into ${layout.openclawPrefix(o.version)} so the version carries its own Node`,
      });
    } else {
      out.push({
        id: "node",
        level: "error",
        message: `OpenClaw ${o.version} has ${v ? `Node ${v || "(does not run)"}` : "no Node"} beside it, and ${f.nodeOnPath ? `the Node on PATH is ${f.nodeOnPath.version}` : "there is no node on PATH"}; OpenClaw 2026.x needs Node ≥ ${need}`,
        fix: `reinstall: molthub host install ${hostName} ${o.version} (adds node-${f.platform ?? "<platform>"})`,
      });
    }
  }
  if (!complete.length) {
    if (f.nodeOnPath && nodeSuitable(f.nodeOnPath.version))
      out.push({ id: "node", level: "ok", message: `Node ${f.nodeOnPath.version} on PATH (${f.nodeOnPath.path})`, fix: "" });
    else
      out.push({
        id: "node",
        level: "error",
        message: f.nodeOnPath
          ? `Node ${f.nodeOnPath.version} on PATH is too old; OpenClaw 2026.x needs Node ≥ ${need}`
          : `no Node found (none beside OpenClaw, none on PATH); OpenClaw 2026.x needs Node ≥ ${need}`,
        fix: installHint,
      });
  }
  // npm: installs OpenClaw, and gateways use it to fetch some provider plugins at start (without it they start without them)
  if (f.npm)
    out.push({ id: "npm", level: "ok", message: `npm at ${f.npm}: OpenClaw can be installed from the registry`, fix: "" });
  else if (complete.length)
    out.push({
      id: "npm",
      level: "ok",
      message:
        "npm is not installed: not needed for the OpenClaw already here (gateways start without the provider plugins they would fetch, e.g. for openai/* models); installing other versions needs npm or a pre-placed prefix",
      fix: "",
    });
  else
    out.push({
      id: "npm",
      level: "warn",
      message: "npm is not installed: Molthub cannot install OpenClaw on this host by itself",
      fix: `install Node.js with npm on the host, or pre-place OpenClaw at ${layout.openclawPrefix("VERSION")}`,
    });
  // ports
  const busy: number[] = [];
  for (let i = 0; i < PORT_SLOTS; i++) {
    const p = PORT_BASE + i * PORT_SPACING;
    if (f.listening.includes(p) || f.listening.includes(p + 2)) busy.push(p);
  }
  const last = PORT_BASE + (PORT_SLOTS - 1) * PORT_SPACING;
  if (!busy.length) out.push({ id: "ports", level: "ok", message: `gateway ports ${PORT_BASE}–${last} are free`, fix: "" });
  else {
    out.push({
      id: "ports",
      level: busy.length >= PORT_SLOTS ? "error" : "warn",
      message: `gateway port${busy.length > 1 ? "s" : ""} ${busy.join(", ")} (or the browser port beside ${busy.length > 1 ? "them" : "it"}) already in use on the host`,
      fix: "stop what listens there if it should not (ss -ltnp shows it); new bots are placed around these ports, and a bot whose port is taken is moved to a free one",
    });
  }
  // disk
  if (!f.disk)
    out.push({ id: "disk", level: "warn", message: "could not read free disk space (df)", fix: "check that df is installed" });
  else {
    const level: FindingLevel = f.disk.availableKb < 512 * 1024 ? "error" : f.disk.availableKb < 2 * 1024 * 1024 ? "warn" : "ok";
    out.push({
      id: "disk",
      level,
      message: `${gib(f.disk.availableKb)} free on ${f.disk.mount}`,
      fix:
        level === "ok"
          ? ""
          : `free space on ${f.disk.mount}: an OpenClaw version takes about 1 GiB, each bot's state grows over time`,
    });
  }
  // memory
  if (!f.memory)
    out.push({
      id: "memory",
      level: "warn",
      message: "could not read available memory",
      fix: "check /proc/meminfo (Linux) or vm_stat (macOS)",
    });
  else {
    const level: FindingLevel = f.memory.availableKb < 256 * 1024 ? "error" : f.memory.availableKb < 1024 * 1024 ? "warn" : "ok";
    out.push({
      id: "memory",
      level,
      message: `${gib(f.memory.availableKb)} memory available${f.memory.totalKb ? ` of ${gib(f.memory.totalKb)}` : ""}`,
      fix: level === "ok" ? "" : "each gateway needs roughly 300–500 MiB: stop other services or add memory",
    });
  }
  return out;
}

/** A connection error → one finding naming the cause and the fix. */
export function connectionFinding(
  err: unknown,
  host: { name: string; address: string; port: number; username: string },
  timeoutMs: number,
): Finding {
  const where = `${host.username}@${host.address}:${host.port}`;
  if (err instanceof HostKeyMismatchError) {
    return {
      id: "connection",
      level: "error",
      message: `the host key changed: pinned ${err.expected}, the host now presents ${err.actual}; the connection was refused before authentication`,
      fix: `if ${host.name} was reinstalled or its key rotated on purpose, compare on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub) and re-trust: molthub host trust ${host.name} --fingerprint ${err.actual}; otherwise treat it as a possible man-in-the-middle`,
    };
  }
  if (err instanceof HostKeyNotPinnedError) {
    return {
      id: "connection",
      level: "error",
      message: `the host key ${err.actual} is not confirmed yet`,
      fix: `compare it on the host (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub), then: molthub host trust ${host.name} --fingerprint ${err.actual}`,
    };
  }
  if (err instanceof SshError) {
    if (err.code === "auth_failed") {
      return {
        id: "connection",
        level: "error",
        message: `${where} refused the appliance's key (wrong user, or the key is not in authorized_keys)`,
        fix: `check the user name, and add the public key shown for ${host.name} to ~${host.username}/.ssh/authorized_keys on the host (mode 0600, ~/.ssh 0700)`,
      };
    }
    if (err.code === "timeout") {
      return {
        id: "connection",
        level: "error",
        message: `${where} did not answer within ${Math.round(timeoutMs / 1000)} s`,
        fix: "check that the host is up and not overloaded, and that nothing drops SSH traffic",
      };
    }
    if (err.code === "unreachable" || err.code === "connection_lost") {
      return {
        id: "connection",
        level: "error",
        message: err.message.split(": check")[0]!,
        fix: `check the address and port of ${host.name}, that sshd runs there and that no firewall blocks port ${host.port}`,
      };
    }
    return {
      id: "connection",
      level: "error",
      message: err.message,
      fix: "run the doctor again; if it persists, check sshd's log on the host",
    };
  }
  return {
    id: "connection",
    level: "error",
    message: (err as Error)?.message ?? String(err),
    fix: "run the doctor again; if it persists, check sshd's log on the host",
  };
}

export interface DoctorTarget {
  name: string;
  address: string;
  port: number;
  username: string;
}

/** Runs the doctor over `exec` (the pool, or canned output in tests) within `timeoutMs`. */
export async function runDoctor(
  exec: Exec,
  host: DoctorTarget,
  opts: { timeoutMs?: number; now?: () => number; signal?: AbortSignal } = {},
): Promise<DoctorReport> {
  const timeoutMs = opts.timeoutMs ?? 30_000;
  const ts = (opts.now ?? Date.now)();
  let r: ExecResult;
  try {
    r = await exec(["sh", "-c", GATHER_SCRIPT], { timeoutMs, signal: opts.signal });
  } catch (e) {
    return { ts, findings: [connectionFinding(e, host, timeoutMs)], facts: null };
  }
  if (!/==== end/.test(r.stdout)) {
    return {
      ts,
      facts: null,
      findings: [
        {
          id: "connection",
          level: "error",
          message: `the checks did not run to the end (exit ${r.code}): ${r.stderr.trim().slice(0, 300) || "no output"}`,
          fix: `make sure ${host.username}'s login shell on the host runs /bin/sh commands (not a restricted shell or a forced command)`,
        },
      ],
    };
  }
  const facts = parseGather(r.stdout);
  return {
    ts,
    facts,
    findings: [
      {
        id: "connection",
        level: "ok",
        message: `connected as ${facts.user || host.username} (uid ${facts.uid ?? "?"})`,
        fix: "",
      },
      ...diagnose(facts, host.name),
    ],
  };
}

// ---------- installing OpenClaw ----------

export const OPENCLAW_VERSION_RE = /^\d{1,5}\.\d{1,3}\.\d{1,5}(?:-[0-9A-Za-z.]{1,40})?$/;
const NODE_VERSION_RE = /^\d{1,3}\.\d{1,3}\.\d{1,3}$/;

export interface InstallResult {
  /** installed: npm ran; present: the version was already there (nothing done) */
  outcome: "installed" | "present";
  version: string;
  prefix: string;
  nodeVersion: string | null;
  /** npm's output tail, for the host event */
  log?: string;
}

export class InstallError extends Error {
  override name = "InstallError";
  constructor(
    message: string,
    readonly finding: Finding,
  ) {
    super(message);
  }
}

/**
 * Installs OpenClaw `version` (and node-<platform>@`nodeVersion`) into `<base>/openclaw/<version>` unless it is
 * already there. npm runs into a temp dir beside the target that is renamed into place on success and removed on
 * failure. Throws InstallError carrying a finding (no npm, registry unreachable, npm failed).
 */
export async function installOpenClaw(
  exec: Exec,
  host: DoctorTarget & { isRoot: boolean; home: string; platform: string },
  version: string,
  opts: { nodeVersion?: string; timeoutMs?: number; registry?: string } = {},
): Promise<InstallResult> {
  if (!OPENCLAW_VERSION_RE.test(version))
    throw new InstallError(`not an OpenClaw version: ${JSON.stringify(version.slice(0, 40))}`, {
      id: "install",
      level: "error",
      message: "invalid version",
      fix: "give a version like 2026.9.6",
    });
  const nodeVersion = opts.nodeVersion ?? DEFAULT_REMOTE_NODE_VERSION;
  if (!NODE_VERSION_RE.test(nodeVersion))
    throw new InstallError(`not a Node version: ${JSON.stringify(nodeVersion)}`, {
      id: "install",
      level: "error",
      message: "invalid Node version",
      fix: "give a version like 26.10.0",
    });
  const layout = remoteLayout(host);
  const prefix = layout.openclawPrefix(version);
  const pkgJson = `${prefix}/node_modules/openclaw/package.json`;
  // already there?
  const present = await exec(
    [
      "sh",
      "-c",
      'test -f "$1" && sed -n \'s/^[[:space:]]*"version"[[:space:]]*:[[:space:]]*"\\([^"]*\\)".*/\\1/p\' "$1" | head -n 1',
      "sh",
      pkgJson,
    ],
    { timeoutMs: 15_000 },
  );
  if (present.code === 0 && present.stdout.trim() === version) {
    const node = await exec(["sh", "-c", 'test -x "$1" && "$1" --version', "sh", layout.nodeBin(version, host.platform)], {
      timeoutMs: 15_000,
    });
    return { outcome: "present", version, prefix, nodeVersion: node.code === 0 ? node.stdout.trim() : null };
  }
  if (present.code === 0 && present.stdout.trim()) {
    throw new InstallError(`${prefix} holds OpenClaw ${present.stdout.trim()}, not ${version}`, {
      id: "install",
      level: "error",
      message: `${prefix} holds another OpenClaw version (${present.stdout.trim()})`,
      fix: `remove ${prefix} on the host, then install again`,
    });
  }
  const npm = await exec(["sh", "-c", "command -v npm"], { timeoutMs: 15_000 });
  if (npm.code !== 0 || !npm.stdout.trim()) {
    throw new InstallError(`npm is not installed on ${host.name}`, {
      id: "install",
      level: "error",
      message: `npm is not installed on ${host.name}: OpenClaw ${version} cannot be installed automatically`,
      fix: `install Node.js with npm on the host, or place an npm prefix holding openclaw@${version} and node-${host.platform}@${nodeVersion} at ${prefix}`,
    });
  }
  const registry = opts.registry ?? "https://registry.npmjs.org/";
  const ping = await exec(["npm", "ping", "--registry", registry], { timeoutMs: 30_000 }).catch((e: unknown) => ({
    code: 1,
    stdout: "",
    stderr: (e as Error).message,
    signal: null,
  }));
  if (ping.code !== 0) {
    throw new InstallError(`the npm registry is not reachable from ${host.name}`, {
      id: "install",
      level: "error",
      message: `the npm registry (${registry}) is not reachable from ${host.name}: ${ping.stderr.trim().split("\n").pop()?.slice(0, 200) ?? ""}`,
      fix: `let the host reach the registry (proxy: npm config set proxy …), or place OpenClaw at ${prefix} by hand`,
    });
  }
  const tmp = `${prefix}.tmp-install`;
  // $1 temp dir, $2 target prefix, $3 registry, $4 openclaw@v, $5 node-<platform>@v: values are arguments, never code
  const script = [
    'mkdir -p "$(dirname "$2")" || exit 1',
    'rm -rf "$1" "$1.log"; mkdir "$1" || exit 1',
    'if ! npm install --no-audit --no-fund --loglevel=error --registry "$3" --prefix "$1" "$4" "$5" >"$1.log" 2>&1; then tail -n 40 "$1.log"; rm -rf "$1" "$1.log"; exit 3; fi',
    'if [ ! -f "$1/node_modules/openclaw/package.json" ]; then echo "npm finished but node_modules/openclaw is missing"; rm -rf "$1" "$1.log"; exit 4; fi',
    'rm -rf "$2" && mv "$1" "$2" || { rm -rf "$1" "$1.log"; exit 5; }',
    'tail -n 10 "$1.log"; rm -f "$1.log"',
  ].join("\n");
  let r: ExecResult;
  try {
    r = await exec(
      ["sh", "-c", script, "sh", tmp, prefix, registry, `openclaw@${version}`, `node-${host.platform}@${nodeVersion}`],
      { timeoutMs: opts.timeoutMs ?? 15 * 60_000 },
    );
  } catch (e) {
    await exec(["rm", "-rf", "--", tmp, `${tmp}.log`], { timeoutMs: 30_000 }).catch(() => {});
    throw new InstallError(`installing OpenClaw ${version} on ${host.name} failed: ${(e as Error).message}`, {
      id: "install",
      level: "error",
      message: `npm install did not finish: ${(e as Error).message}`,
      fix: "run the install again; the partial install was removed",
    });
  }
  if (r.code !== 0) {
    await exec(["rm", "-rf", "--", tmp, `${tmp}.log`], { timeoutMs: 30_000 }).catch(() => {});
    const tail = (r.stdout + r.stderr).trim().split("\n").slice(-5).join(" | ").slice(0, 400);
    throw new InstallError(`npm install of OpenClaw ${version} failed on ${host.name}`, {
      id: "install",
      level: "error",
      message: `npm install failed (exit ${r.code}): ${tail}`,
      fix: "read the error above; the partial install was removed",
    });
  }
  return {
    outcome: "installed",
    version,
    prefix,
    nodeVersion: `v${nodeVersion}`,
    log: r.stdout.trim().split("\n").slice(-10).join("\n"),
  };
}
