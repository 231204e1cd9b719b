#!/usr/bin/env bash
# The test command of the README: set up (idempotent), lint, then the whole test suite on ROS 2
# Kilted, or on the distribution named by ORPOSE_ROS_DISTRO (kilted, jazzy).
# Extra arguments go to pytest, e.g. `bash scripts/test.sh -k privacy`,
# `ORPOSE_ROS_DISTRO=jazzy bash scripts/test.sh -m ros` (the ROS-facing tests, as CI runs them).
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
cd "$repo"
echo "[test] ruff check"
"$repo/.venv/bin/ruff" check .
echo "[test] pytest (ROS 2 ${ORPOSE_ROS_DISTRO:-kilted})"
python -m pytest test -ra "$@"
