"""Fixtures shared by all tests: the read-only reference data in ../shared, ROS isolation."""

from __future__ import annotations

import os
from pathlib import Path

import numpy as np
import pytest
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ORPOSE_SHARED_DIR", REPO.parent / "shared"))
REFERENCE = SHARED / "orpose_reference"

# This process publishes camera frames to the nodes the tests start: like a camera driver it needs the shipped
# Fast DDS profile (the shared-memory segment belongs to the sender: README, "Launch and RViz"), set before its
# first DDS participant exists. The nodes get it from ros_child_env.
os.environ.setdefault("FASTDDS_DEFAULT_PROFILES_FILE", str(REPO / "config" / "fastdds_shm.xml"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.fail(f"reference data missing: {path} (tests read ../shared in place; set ORPOSE_SHARED_DIR)")
    return path


@pytest.fixture(scope="session")
def reference_dir() -> Path:
    """../shared/orpose_reference: MODEL_SPEC.md, checkpoint_layout.tsv, h36stats.json, frames."""
    return _require(REFERENCE)


@pytest.fixture(scope="session")
def stats_path(reference_dir: Path) -> Path:
    return _require(reference_dir / "h36stats.json")


@pytest.fixture(scope="session")
def layout_path(reference_dir: Path) -> Path:
    return _require(reference_dir / "checkpoint_layout.tsv")


@pytest.fixture(scope="session")
def mvor_frames(reference_dir: Path) -> list[Path]:
    """The 60 real 12x operating-room frames (53x40 PNG), sorted."""
    frames = sorted(_require(reference_dir / "mvor_seq1_x12").glob("*.png"))
    assert len(frames) == 60
    return frames


def make_ros_env(log_dir: Path) -> dict[str, str]:
    """Environment for ROS 2 child processes: loopback-only DDS, a private domain, logs in log_dir."""
    from orpose_ros.ros.processes import ros_child_env

    return ros_child_env(log_dir=log_dir)


@pytest.fixture
def ros_env(tmp_path: Path) -> dict[str, str]:
    return make_ros_env(tmp_path / "ros_log")


@pytest.fixture(scope="module")
def ros_env_module(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Like ros_env, shared by the tests of one module (one domain for a long-running node)."""
    return make_ros_env(tmp_path_factory.mktemp("ros_log"))


def read_bgr(path: Path) -> np.ndarray:
    """An image file as an (H, W, 3) uint8 BGR array."""
    return np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"))[:, :, ::-1])


@pytest.fixture(scope="session")
def restored_frames(mvor_frames: list[Path]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(53x40 shared frame, its 640x480 PIL-bilinear restoration) for every sixth shared frame."""
    from orpose_ros import privacy

    return [(small, privacy.restore(small, (480, 640))) for small in (read_bgr(p) for p in mvor_frames[::6])]
