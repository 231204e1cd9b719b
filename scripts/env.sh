# Put the current shell into the orpose_ros environment:  . scripts/env.sh
# (made by scripts/setup.sh). Afterwards python, colcon, orpose-infer and orpose_node are the
# project's, and rclpy, orpose_msgs, orpose_ros, detectron2, torch and cv_bridge import.
# ORPOSE_ROS_DISTRO=jazzy selects the ROS 2 Jazzy environment (default: kilted).
# Safe to source more than once; works under `set -u`.

_orpose_repo=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
case "${ORPOSE_ROS_DISTRO:-kilted}" in
    jazzy) _orpose_venv=.venv-jazzy; _orpose_install=install-jazzy; _orpose_build=build-jazzy
        _orpose_test_install=install-test-jazzy ;;
    *) _orpose_venv=.venv; _orpose_install=install; _orpose_build=build; _orpose_test_install=install-test ;;
esac
if [ ! -x "$_orpose_repo/$_orpose_venv/bin/python" ]; then
    echo "orpose_ros: no ${ORPOSE_ROS_DISTRO:-kilted} environment yet; run scripts/setup.sh first" >&2
    unset _orpose_venv _orpose_install _orpose_build _orpose_test_install
    return 1 2>/dev/null || exit 1
fi

# Leave an orpose_ros environment sourced before (e.g. Kilted, then Jazzy in the same shell): drop the
# paths it added, or its message libraries and Python packages would be found before this one's.
_orpose_without() {  # prints variable $1 without the entries under the prefixes in ORPOSE_ENV_PREFIXES
    local entry prefix kept="" skip IFS=:
    for entry in ${!1-}; do
        skip=
        for prefix in $ORPOSE_ENV_PREFIXES; do
            case "$entry" in "$prefix" | "$prefix"/*) skip=1 ;; esac
        done
        [ -n "$skip" ] || kept="${kept:+$kept:}$entry"
    done
    printf '%s' "$kept"
}
if [ -n "${ORPOSE_ENV_PREFIXES:-}" ]; then
    for _orpose_var in PATH LD_LIBRARY_PATH PYTHONPATH AMENT_PREFIX_PATH CMAKE_PREFIX_PATH COLCON_PREFIX_PATH; do
        _orpose_value=$(_orpose_without "$_orpose_var")
        if [ -n "$_orpose_value" ]; then export "$_orpose_var=$_orpose_value"; else unset "$_orpose_var"; fi
    done
    unset _orpose_value
    unset VIRTUAL_ENV _orpose_var
fi
unset -f _orpose_without

# shellcheck disable=SC1090
. "$_orpose_repo/$_orpose_venv/bin/activate"
# Model files of this clone: models/ (orpose-download-models writes there; models/README.md).
export ORPOSE_MODELS_DIR="${ORPOSE_MODELS_DIR:-$_orpose_repo/models}"
# The ROS 2 wheels install a whole ROS prefix into the venv.
case ":${AMENT_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
case ":${CMAKE_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac

if [ -f "$_orpose_repo/$_orpose_install/local_setup.bash" ] && [ -n "${BASH_VERSION:-}" ]; then
    # colcon's scripts read unset variables (COLCON_TRACE...): relax `set -u` while they run.
    case $- in *u*) _orpose_nounset=1; set +u ;; *) _orpose_nounset= ;; esac
    # The test-only interfaces (test/interfaces/README.md), then this package's install.
    # shellcheck disable=SC1090
    [ -f "$_orpose_repo/$_orpose_test_install/local_setup.bash" ] && . "$_orpose_repo/$_orpose_test_install/local_setup.bash"
    # shellcheck disable=SC1090
    . "$_orpose_repo/$_orpose_install/local_setup.bash"
    [ -n "$_orpose_nounset" ] && set -u
    unset _orpose_nounset
    # Message typesupport libraries are dlopen'ed by name: they must be on LD_LIBRARY_PATH before
    # Python starts (colcon's script adds them, plus a trailing ':' that we drop).
    LD_LIBRARY_PATH=${LD_LIBRARY_PATH:-}
    LD_LIBRARY_PATH=${LD_LIBRARY_PATH%:}
    export LD_LIBRARY_PATH
    export PATH="$_orpose_repo/$_orpose_install/orpose_ros/lib/orpose_ros:$PATH"
fi
# What this environment added to the search paths, for the next `. scripts/env.sh` to take away.
export ORPOSE_ENV_PREFIXES="$VIRTUAL_ENV:$_orpose_repo/$_orpose_install:$_orpose_repo/$_orpose_build"
ORPOSE_ENV_PREFIXES="$ORPOSE_ENV_PREFIXES:$_orpose_repo/$_orpose_test_install:$_orpose_repo/build-test${_orpose_test_install#install-test}"
unset _orpose_repo _orpose_venv _orpose_install _orpose_build _orpose_test_install
