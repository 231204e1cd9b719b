#!/usr/bin/env bash
# The main job of the README: set up (idempotent), then run orpose_node on a camera replay and show
# the poses arriving. Arguments go to orpose_demo (see `orpose_demo --help`): e.g.
#   bash scripts/run_demo.sh --weights models/orpose_fixed_12x_model_final.pth --source my_frames/
set -euo pipefail
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
bash "$repo/scripts/setup.sh" >&2
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
cd "$repo"
exec python -m orpose_ros.ros.demo "$@"
