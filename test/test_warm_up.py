"""The fusion's warm-up: its made-up frame takes every compiled path, so that real frames compile nothing."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from orpose_ros.fusion.pipeline import TRIANGULATED, fuse_frame
from orpose_ros.fusion.warm_up import warm_up_frame

# In a fresh process: no compiled code before compile_kernels; afterwards, real frames of other rooms, with and
# without 3D skeletons and a floor, with each placement method, add no compiled version to any loop.
PROBE = """
from dataclasses import replace
import numpy as np
from orpose_ros.compiled import KERNELS
from orpose_ros.bench.fusion_bench import synthetic_frames
from orpose_ros.fusion.detections import PersonDetection
from orpose_ros.fusion.pipeline import FusionOptions, fuse_frame
from orpose_ros.fusion.warm_up import compile_kernels
from orpose_ros.geometry.body_model import standing_template_h36m
from orpose_ros.geometry.placement import PlacementOptions

def versions():
    return {k.__name__: len(k.signatures) for k in KERNELS}

before = versions()
compile_kernels()
warm = versions()
calibration, frames = synthetic_frames(6, num_cameras=4, num_people=5, seed=3)
skeleton = standing_template_h36m()
with_skeletons = [{name: [replace(d, keypoints_3d=skeleton) for d in people] for name, people in f.items()}
                  for f in frames]
for room in (calibration, calibration.with_floor(None)):
    for method in ("skeleton+floor", "skeleton", "floor"):
        options = FusionOptions(placement=PlacementOptions(method=method))
        for frame in frames + with_skeletons:
            fuse_frame(room, frame, options)
print(sum(before.values()), sum(n > 0 for n in warm.values()), versions() == warm)
"""


def test_real_frames_compile_nothing_after_the_warm_up() -> None:
    if os.environ.get("NUMBA_DISABLE_JIT", "0") != "0":
        pytest.skip("numba's JIT is disabled: nothing is compiled")
    done = subprocess.run([sys.executable, "-c", PROBE], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    before, compiled_loops, unchanged = done.stdout.split()
    assert before == "0"
    # the entry points: placement fit, pose NMS, cost table, triangulation, single-camera duplicate test
    assert int(compiled_loops) >= 5
    assert unchanged == "True"


def test_the_warm_up_frame_has_a_repeated_a_triangulated_and_a_single_camera_person() -> None:
    calibration, frame = warm_up_frame()
    people = fuse_frame(calibration, frame)
    assert [(p.placement, p.detection_indices) for p in people] == [
        (TRIANGULATED, (0, 0)), ("single-view skeleton+floor", (2,))]

