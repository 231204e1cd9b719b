"""Finding the model files: the models folder, the factor in a weights name, h36stats.json."""

from __future__ import annotations

from pathlib import Path

import pytest

from orpose_ros.h36m_stats import StatsError
from orpose_ros.model_files import default_models_dir, downsample_factor_from_name, resolve_stats_path


def test_models_folder_from_the_environment_then_the_user_data_folder(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORPOSE_MODELS_DIR", str(tmp_path / "mine"))
    assert default_models_dir() == tmp_path / "mine"
    monkeypatch.delenv("ORPOSE_MODELS_DIR")
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))
    assert default_models_dir() == tmp_path / "data" / "orpose_ros" / "models"
    monkeypatch.delenv("XDG_DATA_HOME")
    assert default_models_dir() == Path.home() / ".local" / "share" / "orpose_ros" / "models"


@pytest.mark.parametrize(
    ("name", "factor"),
    [
        ("orpose_fixed_12x_model_final.pth", 12),
        ("models/orpose_fixed_8x_model_final.pth", 8),
        ("/a/b/orpose_fixed_10x_model_final.pth", 10),
        ("model_final.pth", None),
        ("orpose_fixed_0x_model_final.pth", None),
        ("orpose_12x.pth", None),
    ],
)
def test_downsample_factor_from_name(name: str, factor: int | None) -> None:
    assert downsample_factor_from_name(name) == factor


def test_resolve_stats_path_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    weights_dir, models_dir = tmp_path / "weights", tmp_path / "models"
    weights_dir.mkdir()
    models_dir.mkdir()
    monkeypatch.setenv("ORPOSE_MODELS_DIR", str(models_dir))
    weights = weights_dir / "orpose_fixed_12x_model_final.pth"
    explicit = tmp_path / "mine.json"
    explicit.write_text("{}")
    assert resolve_stats_path(weights, explicit) == explicit
    (models_dir / "h36stats.json").write_text("{}")
    assert resolve_stats_path(weights, None) == models_dir / "h36stats.json"
    (weights_dir / "h36stats.json").write_text("{}")
    assert resolve_stats_path(weights, None) == weights_dir / "h36stats.json"


def test_resolve_stats_path_lists_the_places_tried(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ORPOSE_MODELS_DIR", str(tmp_path / "models"))
    weights = tmp_path / "w" / "orpose_fixed_12x_model_final.pth"
    with pytest.raises(StatsError) as err:
        resolve_stats_path(weights, None)
    message = str(err.value)
    assert str(tmp_path / "w" / "h36stats.json") in message
    assert str(tmp_path / "models" / "h36stats.json") in message
    assert "orpose-download-models" in message
    with pytest.raises(StatsError, match=r"explicit\.json"):
        resolve_stats_path(weights, tmp_path / "explicit.json")
