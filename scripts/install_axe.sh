#!/usr/bin/env bash
# Installs axe-core (the accessibility engine the dashboard's browser test injects through Playwright) from
# npm into build/axe, pinned. Idempotent: does nothing when that version is there. Node's npm comes from
# Debian when missing (needs root or sudo then).
set -euo pipefail
cd "$(dirname "$0")/.."
VERSION=4.11.0
TARGET=build/axe
if [ -f "$TARGET/node_modules/axe-core/axe.min.js" ] && grep -q "\"version\": \"$VERSION\"" "$TARGET/node_modules/axe-core/package.json"; then
  exit 0
fi
if ! command -v npm >/dev/null 2>&1; then
  SUDO=""
  [ "$(id -u)" -ne 0 ] && SUDO="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq npm >/dev/null
fi
mkdir -p "$TARGET"
npm install --silent --no-audit --no-fund --no-save --prefix "$TARGET" "axe-core@$VERSION" >/dev/null
echo "installed axe-core $VERSION into $TARGET"
