"""The Human3.6M statistics file: loading, validation, and the mean pose used as a template body."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from orpose_ros.h36m_stats import H36MStats, StatsError


def test_stats_loads_the_published_file(stats_path: Path) -> None:
    stats = H36MStats.from_json(stats_path)
    assert stats.data_mean_2d.shape == (64,)
    assert stats.dim_to_use_2d.shape == (32,)
    assert stats.data_mean_3d.shape == (96,)
    assert stats.dim_to_use_3d.shape == (48,)
    assert stats.dim_to_use_3d[:4].tolist() == [3, 4, 5, 6]
    assert stats.source == str(stats_path)


def test_stats_placeholder_is_neutral() -> None:
    stats = H36MStats.placeholder()
    assert stats.dim_to_use_2d.tolist() == list(range(32))
    assert stats.dim_to_use_3d.tolist() == list(range(3, 51))
    assert stats.mean_2d_used.tolist() == [0.0] * 32
    assert stats.std_2d_used.tolist() == [1.0] * 32


def test_stats_missing_file_names_the_path_and_the_fix(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere" / "h36stats.json"
    with pytest.raises(StatsError) as err:
        H36MStats.from_json(missing)
    assert str(missing) in str(err.value)
    assert "orpose-download-models" in str(err.value)


@pytest.mark.parametrize(
    ("edit", "message"),
    [
        (lambda d: d.pop("data_std_3d"), "missing data_std_3d"),
        (lambda d: d.__setitem__("dim_to_use_2d", d["dim_to_use_2d"][:-1]), "dim_to_use_2d has 31 values, expected 32"),
        (lambda d: d.__setitem__("dim_to_use_3d", [x + 0.5 for x in d["dim_to_use_3d"]]), "integer indices"),
        (lambda d: d.__setitem__("dim_to_use_3d", [*d["dim_to_use_3d"][:-1], 96]), "indexes outside"),
        (lambda d: d.__setitem__("data_mean_2d", d["data_mean_2d"][:10]), "data_mean_2d has 10 values, expected 64"),
        (lambda d: d.__setitem__("data_std_2d", [0.0] * 64), "division by zero"),
    ],
)
def test_stats_malformed_file_is_named_with_its_problem(tmp_path, stats_path: Path, edit, message) -> None:
    data = json.loads(stats_path.read_text())
    edit(data)
    bad = tmp_path / "h36stats.json"
    bad.write_text(json.dumps(data))
    with pytest.raises(StatsError, match=message) as err:
        H36MStats.from_json(bad)
    assert str(bad) in str(err.value)


def test_stats_not_json(tmp_path: Path) -> None:
    bad = tmp_path / "h36stats.json"
    bad.write_text("{not json")
    with pytest.raises(StatsError, match="cannot read") as err:
        H36MStats.from_json(bad)
    assert str(bad) in str(err.value)


def test_mean_pose_is_pelvis_relative_metres_head_up(stats_path: Path) -> None:
    pose = H36MStats.from_json(stats_path).mean_pose_m()
    assert pose.shape == (17, 3)
    np.testing.assert_array_equal(pose[0], [0.0, 0.0, 0.0])  # the root
    head, ankle = pose[10], pose[3]  # head and right ankle (Human3.6M-17 order)
    assert head[1] < -0.4
    assert ankle[1] > 0.5  # y points down, in metres
