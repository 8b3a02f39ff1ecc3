#!/usr/bin/env bash
# Installs what the tests need, starts the services they use, runs lint, types and every test.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv
bash scripts/install_browser.sh  # Chromium for tests/browser (api helper)
"$VENV/bin/ruff" check src tests bench
"$VENV/bin/mypy"
if [ -f scripts/services.sh ]; then
  # shellcheck disable=SC1090
  eval "$(bash scripts/services.sh start --env)"
fi
"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
