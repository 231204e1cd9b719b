# Put the current shell into the orpose_ros environment:  . scripts/env.sh
# (made by scripts/setup.sh). Afterwards python, colcon, orpose-infer and orpose_node are the
# project's, and rclpy, orpose_msgs, orpose_ros, detectron2, torch and cv_bridge import.
# Safe to source more than once; works under `set -u`.

_orpose_repo=$(cd "$(dirname "${BASH_SOURCE[0]:-$0}")/.." && pwd)
if [ ! -x "$_orpose_repo/.venv/bin/python" ]; then
    echo "orpose_ros: no environment yet; run scripts/setup.sh first" >&2
    return 1 2>/dev/null || exit 1
fi

# shellcheck disable=SC1091
. "$_orpose_repo/.venv/bin/activate"
# The ROS 2 wheels install a whole ROS prefix into the venv.
case ":${AMENT_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export AMENT_PREFIX_PATH="$VIRTUAL_ENV${AMENT_PREFIX_PATH:+:$AMENT_PREFIX_PATH}" ;; esac
case ":${CMAKE_PREFIX_PATH:-}:" in *":$VIRTUAL_ENV:"*) ;; *)
    export CMAKE_PREFIX_PATH="$VIRTUAL_ENV${CMAKE_PREFIX_PATH:+:$CMAKE_PREFIX_PATH}" ;; esac

if [ -f "$_orpose_repo/install/local_setup.bash" ] && [ -n "${BASH_VERSION:-}" ]; then
    # colcon's scripts read unset variables (COLCON_TRACE...): relax `set -u` while they run.
    case $- in *u*) _orpose_nounset=1; set +u ;; *) _orpose_nounset= ;; esac
    # shellcheck disable=SC1091
    . "$_orpose_repo/install/local_setup.bash"
    [ -n "$_orpose_nounset" ] && set -u
    unset _orpose_nounset
    # Message typesupport libraries are dlopen'ed by name: they must be on LD_LIBRARY_PATH before
    # Python starts (colcon's script adds them, plus a trailing ':' that we drop).
    LD_LIBRARY_PATH=${LD_LIBRARY_PATH%:}
    export LD_LIBRARY_PATH
    export PATH="$_orpose_repo/install/orpose_ros/lib/orpose_ros:$PATH"
fi
unset _orpose_repo
