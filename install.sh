#!/usr/bin/env sh
# Molthub installer (minimal): builds the single binary from this checkout and installs it.
#   sh install.sh            → /usr/local/bin/molthub (as root) or ~/.local/bin/molthub
# Safe to re-run: it replaces the binary and keeps the data dir. A later release adds prebuilt,
# checksum-verified downloads and a systemd unit.
set -eu
cd "$(dirname "$0")"
command -v npm >/dev/null 2>&1 || { echo "install.sh: npm is needed to build Molthub (apt-get install nodejs npm)" >&2; exit 1; }
npm ci --no-audit --no-fund
npm run build
if [ "$(id -u)" = 0 ]; then dest=/usr/local/bin; else dest="$HOME/.local/bin"; mkdir -p "$dest"; fi
install -m 0755 dist/molthub "$dest/molthub.new" && mv "$dest/molthub.new" "$dest/molthub"
echo "installed $dest/molthub ($("$dest/molthub" version)). Start it with: molthub serve"
