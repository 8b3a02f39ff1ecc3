#!/usr/bin/env bash
# Installs Debian's Chromium for the dashboard's browser test (Playwright drives /usr/bin/chromium).
# Idempotent: does nothing when it is already there. Needs root (or sudo) the first time only.
set -euo pipefail
if [ -x /usr/bin/chromium ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq chromium >/dev/null
echo "installed $(/usr/bin/chromium --version 2>/dev/null || echo chromium)"
