#!/usr/bin/env bash
# Installs Debian's Chromium (Playwright drives /usr/bin/chromium for browser mode and the dashboard's browser
# test) and NSS's certutil (browser mode builds Chromium a trust store holding EXTRA_CA_BUNDLE's CAs).
# Idempotent: does nothing when both are there. Needs root (or sudo) the first time only.
set -euo pipefail
missing=()
[ -x /usr/bin/chromium ] || missing+=(chromium)
command -v certutil >/dev/null 2>&1 || missing+=(libnss3-tools)
if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  SUDO="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
echo "installed ${missing[*]} ($(/usr/bin/chromium --version 2>/dev/null || echo chromium))"
