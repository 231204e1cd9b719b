#!/usr/bin/env bash
# The test command of the README: set up (idempotent), lint, then the whole test suite.
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k privacy`.
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
cd "$repo"
echo "[test] ruff check"
ruff check .
echo "[test] pytest"
python -m pytest test -ra "$@"
