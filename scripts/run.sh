#!/usr/bin/env bash
# ironlb's main job on its embedded default: plan the bundled samples
# (what the controller would assign, what each node would announce).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/setup.sh
exec .venv/bin/ironlb plan "$@"
