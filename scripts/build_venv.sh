#!/usr/bin/env bash
# Build the pinned Python environment of orpose_ros into the directory given as $1.
#
# Holds ROS 2 Kilted (PyPI wheels), torch + torchvision, detectron2 0.6 built from source without
# its C++ extension, OpenCV, cv_bridge and the colcon build set. Called by scripts/setup.sh, which
# decides where the venv lives and whether it must be (re)built; safe to call on a half-built venv
# (it starts over).
set -euo pipefail

venv=${1:?usage: build_venv.sh VENV_DIR}
repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
python=${ORPOSE_PYTHON:-python3}

log() { printf '[build_venv] %s\n' "$*"; }
# pip's site config lists local index folders that do not exist here; drop its warnings about them.
quiet() { "$@" 2>&1 | { grep -v 'is ignored: it is neither a file nor a directory' || true; }; }

rm -rf "$venv"
log "creating $venv with $($python --version)"
"$python" -m venv "$venv"
# Keep the interpreter's bundled pip (23.x): pip >= 24 refuses to download the detectron2 sdist
# below because one of its optional extras names a direct URL.
pip=("$venv/bin/python" -m pip --disable-pip-version-check --no-input)
quiet "${pip[@]}" install --quiet "pip>=23,<24" wheel

log "installing pinned requirements (torch, ROS 2 wheels, colcon; ~3.5 GB of downloads)"
quiet "${pip[@]}" install --quiet -r "$repo/requirements/venv.txt"

# detectron2 0.6 is not on PyPI under its own name. pb1-detectron2 is FAIR's v0.6 Python code but
# ships no C++ sources (detectron2/layers/csrc), so its stock build fails. ORPose needs none of
# those ops, so build it with the extension turned off; orpose_ros/model/detectron2_compat.py supplies
# the placeholder for detectron2._C that detectron2.layers imports.
log "building detectron2 0.6 (pb1-detectron2 sdist, no C++ extension)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
quiet "${pip[@]}" download --quiet --no-deps --no-build-isolation --no-binary :all: \
    -d "$work" "pb1-detectron2==0.6"
tar -xzf "$work"/pb1*detectron2-0.6.tar.gz -C "$work"
src=$(find "$work" -maxdepth 1 -type d -name '*detectron2-0.6' | head -n 1)
sed -i 's/ext_modules=get_extensions(),/ext_modules=[],/' "$src/setup.py"
grep -q 'ext_modules=\[\],' "$src/setup.py" || { log "could not disable detectron2's C++ extension"; exit 1; }
quiet "${pip[@]}" install --quiet --no-build-isolation "$src"

log "rewriting build-machine paths in the ROS CMake files"
bash "$repo/scripts/fix_ros_cmake_paths.sh" "$venv"

log "checking the environment"
quiet "${pip[@]}" check
touch "$venv/.complete"
log "done: $(du -sh "$venv" | cut -f1) in $venv"
