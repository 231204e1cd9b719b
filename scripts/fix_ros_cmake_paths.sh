#!/usr/bin/env bash
# The ROS 2 wheels' CMake config files carry the include paths of the machine that built them
# (/opt/python/cp311-cp311/..., its numpy): point them at the venv $1's own, so that colcon can
# build message packages against them. Called by build_venv.sh and build_jazzy_venv.sh.
set -euo pipefail
venv=${1:?usage: fix_ros_cmake_paths.sh VENV_DIR}
py_include=$("$venv/bin/python" -c 'import sysconfig; print(sysconfig.get_paths()["include"])')
np_include=$("$venv/bin/python" -c 'import numpy; print(numpy.get_include())')
grep -rlE '/opt/python/cp311-cp311/include/python3\.11|site-packages/numpy/_core/include' \
    --include='*.cmake' "$venv/share" | while read -r f; do
    sed -i -E \
        -e "s#/opt/python/cp311-cp311/include/python3\.11#${py_include}#g" \
        -e "s#[^;\" ]*/site-packages/numpy/_core/include#${np_include}#g" \
        "$f"
done
