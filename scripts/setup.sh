#!/usr/bin/env bash
# Idempotent set-up of orpose_ros on a fresh Debian 12 / Python 3.11 machine (no ROS needed):
#   1. the pinned venv (ROS 2 Kilted wheels, torch, detectron2, colcon), shared between clones
#      under ~/.cache/orpose_ros/venv-<hash of its recipe>, linked as .venv;
#   2. a colcon build of orpose_msgs and orpose_ros into build/ and install/ of this repository.
# Re-running it only rebuilds what changed. Override the cache folder with ORPOSE_CACHE_DIR.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ORPOSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orpose_ros}
# The venv's cache key: its recipe without comment lines (editing a comment must not rebuild 5 GB).
key=$(cat "$repo/requirements/venv.txt" "$repo/scripts/build_venv.sh" | grep -v '^[[:space:]]*#' | sha256sum | cut -c1-12)
venv=$cache/venv-$key

log() { printf '[setup] %s\n' "$*"; }

mkdir -p "$cache"
if [ ! -f "$venv/.complete" ]; then
    log "building the Python environment (first time on this machine: ~3 min, ~5.4 GB)"
    # One build at a time per machine: parallel clones wait for each other.
    exec 9>"$cache/.build.lock"
    flock 9
    [ -f "$venv/.complete" ] || bash "$repo/scripts/build_venv.sh" "$venv"
    flock -u 9
fi
ln -sfn "$venv" "$repo/.venv"
log "environment: $venv"

# colcon must be told about orpose_msgs: it does not look inside a folder that is a package itself.
log "building orpose_msgs and orpose_ros with colcon"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
cd "$repo"
colcon --log-base log build --symlink-install --base-paths . orpose_msgs \
    --event-handlers console_cohesion- summary+ status- \
    --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$repo/.venv/bin/python"
# Make the fresh install visible to this shell's caller too (when sourced, env.sh re-reads it).
. "$repo/scripts/env.sh"
python -c "import rclpy, orpose_msgs.msg, orpose_ros, detectron2, torch, cv_bridge" \
    || { log "the environment does not import; see the messages above"; exit 1; }
log "ready: '. scripts/env.sh' puts a shell into this environment"
