#!/usr/bin/env bash
# Installs NSS's tools (selfserv, certutil, pk12util: Debian package libnss3-tools). The TLS rating tests
# run selfserv as a real SSL 3.0 / RC4 server, which no OpenSSL on the machine can be. Idempotent.
set -euo pipefail
if command -v selfserv >/dev/null 2>&1 && command -v certutil >/dev/null 2>&1 && command -v pk12util >/dev/null 2>&1; then
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends libnss3-tools >/dev/null
echo "installed libnss3-tools"
