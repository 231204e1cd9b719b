"""The README's main job: orpose_demo starts the node and a camera replay and shows poses arriving."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO

pytestmark = pytest.mark.ros


@pytest.mark.timeout(300)
def test_demo_with_random_weights_shows_poses_from_the_synthetic_camera(stats_path: Path, ros_env: dict) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "orpose_ros.ros.demo", "--random-weights", "0", "--stats", str(stats_path),
         "--device", "cpu", "--rate", "1", "--count", "2", "--duration", "200", "--downsample", "8"],
        env=ros_env, capture_output=True, text=True, timeout=260, cwd=REPO,
    )
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-3000:]
    assert "RANDOM WEIGHTS" in result.stdout
    lines = re.findall(r"^/camera/image_raw \[camera_0_optical_frame\] 640x480 x8: (\d+) person", result.stdout, re.M)
    assert len(lines) == 2, result.stdout[-2000:] + result.stderr[-3000:]  # --count 2: then it stops
    assert any(int(n) > 0 for n in lines)
    assert "inference failed" not in result.stdout + result.stderr  # not even when stopped mid-inference
    assert "Warning" not in result.stdout + result.stderr  # e.g. torch's meshgrid warning


def test_demo_without_weights_refuses_to_guess(ros_env: dict, tmp_path: Path) -> None:
    env = {**ros_env, "ORPOSE_MODELS_DIR": str(tmp_path / "no_models")}
    result = subprocess.run([sys.executable, "-m", "orpose_ros.ros.demo", "--duration", "5"],
                            env=env, capture_output=True, text=True, timeout=120, cwd=tmp_path)
    assert result.returncode == 2
    assert str(tmp_path / "no_models" / "orpose_fixed_12x_model_final.pth") in result.stderr
    assert "--random-weights" in result.stderr
    assert "orpose-download-models" in result.stderr


@pytest.mark.timeout(300)
def test_room_demo_shows_fused_people_without_weights(ros_env: dict) -> None:
    command = [sys.executable, "-m", "orpose_ros.ros.demo", "--room", "--count", "20", "--duration", "200"]
    result = subprocess.run(command, env=ros_env, capture_output=True, text=True, timeout=260, cwd=REPO)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-3000:]
    counts = [int(n) for n in re.findall(r"^\[or_room\] (\d+) person\(s\) seen", result.stdout, re.M)]
    assert len(counts) == 20, output[-3000:]  # --count 20: then it stops
    # three people, rarely all hidden (those hidden from every camera are printed as predicted, apart); a person
    # passing close to another may be seen twice for a moment, rarely
    assert counts.count(3) >= 10, counts
    assert sum(n >= 2 for n in counts) >= 15, counts
    assert sum(n > 3 for n in counts) <= 2, counts
    assert re.search(r"#[1-9]\d* at \(\d\.\d\d, \d\.\d\d\) m, [1-3] camera\(s\)", result.stdout), result.stdout
    assert "WARN" not in output, output[-3000:]
    assert "Warning" not in output, output[-3000:]
    assert "Traceback" not in output, output[-3000:]


def test_room_demo_refuses_model_options(ros_env: dict) -> None:
    result = subprocess.run([sys.executable, "-m", "orpose_ros.ros.demo", "--room", "--random-weights", "0",
                             "--device", "cpu"], env=ros_env, capture_output=True, text=True, timeout=60, cwd=REPO)
    assert result.returncode == 2
    assert "--room starts no model and no camera: --random-weights, --device would be ignored" in result.stderr
