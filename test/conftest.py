"""Fixtures shared by all tests: the read-only reference data in ../shared, ROS isolation."""

from __future__ import annotations

import os
import random
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("ORPOSE_SHARED_DIR", REPO.parent / "shared"))
REFERENCE = SHARED / "orpose_reference"


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
    env = dict(os.environ)
    env["ROS_AUTOMATIC_DISCOVERY_RANGE"] = "LOCALHOST"
    env["ROS_DOMAIN_ID"] = str(random.randint(1, 101))
    env["ROS_LOG_DIR"] = str(log_dir)
    env["PYTHONUNBUFFERED"] = "1"
    # The ROS wheels' re-exec guard must not leak into children (they need their own re-exec).
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    return env


@pytest.fixture
def ros_env(tmp_path: Path) -> dict[str, str]:
    return make_ros_env(tmp_path / "ros_log")


@pytest.fixture(scope="module")
def ros_env_module(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """Like ros_env, shared by the tests of one module (one domain for a long-running node)."""
    return make_ros_env(tmp_path_factory.mktemp("ros_log"))
