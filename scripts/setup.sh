#!/usr/bin/env bash
# Idempotent set-up of orpose_ros on a fresh Debian 12 / Python 3.11 machine (no ROS needed):
#   1. the pinned venv (ROS 2 Kilted wheels, torch, detectron2, colcon), shared between clones
#      under ~/.cache/orpose_ros/venv-<hash of its recipe>, linked as .venv;
#   2. with ORPOSE_ROS_DISTRO=jazzy also a ROS 2 Jazzy venv layered over it (venv-jazzy-<hash>,
#      ~400 MB: only ROS is Jazzy's), linked as .venv-jazzy;
#   3. a colcon build of orpose_msgs and orpose_ros into build/ and install/ of this repository
#      (build-jazzy/ and install-jazzy/ for Jazzy).
# Re-running it only rebuilds what changed. Override the cache folder with ORPOSE_CACHE_DIR.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ORPOSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orpose_ros}
distro=${ORPOSE_ROS_DISTRO:-kilted}
log() { printf '[setup] %s\n' "$*"; }
case "$distro" in kilted|jazzy) ;; *) log "ORPOSE_ROS_DISTRO must be kilted or jazzy, not '$distro'"; exit 2 ;; esac

# A venv's cache key: its recipe without comment lines (editing a comment must not rebuild 5 GB).
recipe_key() { cat "$@" | grep -v '^[[:space:]]*#' | sha256sum | cut -c1-12; }
# Build a venv once per machine: parallel clones wait for each other.
build_once() {  # NAME VENV COMMAND...
    local name=$1 venv=$2
    shift 2
    [ -f "$venv/.complete" ] && return 0
    log "building the $name environment (first time on this machine)"
    exec 9>"$cache/.build.lock"
    flock 9
    [ -f "$venv/.complete" ] || "$@"
    flock -u 9
}

mkdir -p "$cache"
base_key=$(recipe_key "$repo/requirements/venv.txt" "$repo/scripts/build_venv.sh" "$repo/scripts/fix_ros_cmake_paths.sh")
base=$cache/venv-$base_key
build_once "Python (~3 min, ~5.4 GB)" "$base" bash "$repo/scripts/build_venv.sh" "$base"
ln -sfn "$base" "$repo/.venv"
if [ "$distro" = jazzy ]; then
    jazzy=$cache/venv-jazzy-$(recipe_key "$repo/requirements/jazzy.txt" "$repo/scripts/build_jazzy_venv.sh" \
        "$repo/scripts/fix_ros_cmake_paths.sh" <(echo "$base_key"))
    build_once "ROS 2 Jazzy (~1 min, ~400 MB)" "$jazzy" bash "$repo/scripts/build_jazzy_venv.sh" "$base" "$jazzy"
    ln -sfn "$jazzy" "$repo/.venv-jazzy"
fi
log "environment: $(readlink -f "$repo/$([ "$distro" = jazzy ] && echo .venv-jazzy || echo .venv)") (ROS 2 $distro)"

# colcon must be told about orpose_msgs: it does not look inside a folder that is a package itself.
suffix=$([ "$distro" = jazzy ] && echo "-jazzy" || true)
log "building orpose_msgs and orpose_ros with colcon (ROS 2 $distro)"
# shellcheck source=scripts/env.sh
. "$repo/scripts/env.sh"
cd "$repo"
# CMake caches the environment's paths: a build made with another venv starts over.
stamp="build$suffix/.orpose_venv"
if [ -d "build$suffix" ] && [ "$(cat "$stamp" 2>/dev/null)" != "$VIRTUAL_ENV" ]; then
    log "the environment changed since the last build: cleaning build$suffix/ and install$suffix/"
    rm -rf "build$suffix" "install$suffix" "build-test$suffix" "install-test$suffix"
    . "$repo/scripts/env.sh"
fi
mkdir -p "build$suffix" && echo "$VIRTUAL_ENV" > "$stamp"
colcon --log-base "log$suffix" build --symlink-install --base-paths . orpose_msgs \
    --build-base "build$suffix" --install-base "install$suffix" \
    --event-handlers console_cohesion- summary+ status- \
    --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VIRTUAL_ENV/bin/python"
# Test-only interface packages (test/interfaces: tf2_msgs, which PyPI lacks) in their own install base, which
# only env.sh puts on the paths: never part of the orpose_ros install.
log "building the test-only interfaces (test/interfaces) into install-test$suffix/"
colcon --log-base "log$suffix" build --base-paths test/interfaces \
    --build-base "build-test$suffix" --install-base "install-test$suffix" \
    --event-handlers console_cohesion- summary+ status- \
    --cmake-args -DBUILD_TESTING=OFF -DPython3_EXECUTABLE="$VIRTUAL_ENV/bin/python"
# Make the fresh install visible to this shell's caller too (when sourced, env.sh re-reads it).
. "$repo/scripts/env.sh"
python -c "import rclpy, orpose_msgs.msg, orpose_ros, detectron2, torch, cv_bridge" \
    || { log "the environment does not import; see the messages above"; exit 1; }
log "ready: '${ORPOSE_ROS_DISTRO:+ORPOSE_ROS_DISTRO=$distro }. scripts/env.sh' puts a shell into this environment"
