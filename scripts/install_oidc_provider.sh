#!/usr/bin/env bash
# Installs the OpenID Connect provider the SSO tests run on loopback (panva's oidc-provider, from npm, at the
# version package-lock.json pins). Needs Node.js 18+ and npm (Debian: apt-get install nodejs npm).
set -euo pipefail
cd "$(dirname "$0")/../tests/support/oidc"
if ! command -v npm >/dev/null; then
  echo "npm is missing: install Node.js and npm (apt-get install nodejs npm)" >&2
  exit 1
fi
npm ci --no-audit --no-fund --silent
