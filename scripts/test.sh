#!/usr/bin/env bash
# Runs every check that CI runs: lint, types, layer contracts, then the tests
# (network-namespace tests run when root, and are skipped with a reason otherwise).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
export PATH="$PWD/.venv/bin:$PATH"

echo "== ruff"
ruff check ironlb controller speaker tests benchmarks
ruff format --check ironlb controller speaker tests benchmarks
echo "== mypy --strict"
mypy
echo "== import layers"
lint-imports
echo "== pytest"
set +e
pytest -q "$@"
rc=$?
set -e
# pytest's exit 5 means no test ran: that is a failure here, not a pass.
exit $rc
