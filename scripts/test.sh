#!/usr/bin/env bash
# Installs what the tests need, starts the services they use, runs lint, types and every test.
# Extra arguments go to pytest (e.g. `bash scripts/test.sh tests/system -x`).
set -euo pipefail
cd "$(dirname "$0")/.."
VENV=.venv

bash scripts/install_browser.sh  # Debian's Chromium for tests/browser
bash scripts/install_axe.sh  # axe-core from npm: the dashboard's accessibility test
bash scripts/install_oidc_provider.sh  # the OpenID Connect provider of the SSO tests (npm)
bash scripts/install_nss_tools.sh  # NSS selfserv: a real SSL 3.0 / RC4 server for the TLS rating tests
"$VENV/bin/ruff" check src tests bench
"$VENV/bin/mypy"
"$VENV/bin/lint-imports"  # the dependency contracts of pyproject.toml

# PostgreSQL, Redis and Kafka on loopback (or the ones DATABASE_URL etc. already point at).
service_env="$(bash scripts/services.sh start --env)"
eval "$service_env"
if [ "${CI:-}" = "true" ]; then
  # Nothing we started may outlive the CI run.
  trap 'bash scripts/services.sh stop >&2 || true' EXIT
fi

"$VENV/bin/python" -m pytest -q -p no:cacheprovider "$@"
