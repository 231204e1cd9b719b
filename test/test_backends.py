"""The pose-backend factory: one rule for weights, random weights and a missing GPU, one-line errors."""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import pytest

from orpose_ros.backends import BackendError, BackendOptions, PoseBackend, build_backend


def test_no_weights_at_all_is_an_error_with_instructions() -> None:
    with pytest.raises(BackendError, match=r"no model weights configured.*orpose-download-models"):
        build_backend(BackendOptions())


def test_a_missing_weights_file_is_named(tmp_path: Path) -> None:
    missing = tmp_path / "orpose_fixed_12x_model_final.pth"
    with pytest.raises(BackendError, match=f"weights file not found: {missing}"):
        build_backend(BackendOptions(weights=missing, random_seed=0))


def test_an_unknown_runtime_is_refused() -> None:
    expected = "unknown backend 'tensorflow'; expected one of auto, detectron2, onnxruntime, openvino"
    with pytest.raises(BackendError, match=expected):
        build_backend(BackendOptions(kind="tensorflow", random_seed=0))


def test_a_bad_weights_file_is_one_line(tmp_path: Path, stats_path: Path) -> None:
    weights = tmp_path / "orpose_fixed_12x_model_final.pth"
    weights.write_bytes(b"not a checkpoint")
    with pytest.raises(BackendError, match="cannot load the model") as raised:
        build_backend(BackendOptions(weights=weights, stats=stats_path))
    assert "\n" not in str(raised.value)


@pytest.fixture(scope="module")
def random_backend(stats_path: Path) -> PoseBackend:
    backend = build_backend(BackendOptions(random_seed=0, stats=stats_path, device="cpu", downsample_factor=12,
                                           score_threshold=0.25))
    yield backend
    backend.close()


def test_random_weights_give_a_backend_with_the_asked_settings(random_backend: PoseBackend) -> None:
    assert isinstance(random_backend, PoseBackend)
    assert random_backend.name == "detectron2"
    assert str(random_backend.device) == "cpu"
    assert random_backend.downsample_factor == 12
    assert random_backend.score_threshold == 0.25
    assert random_backend.check_frame(np.zeros((480, 640, 3), np.uint8)) == 12


def test_weights_win_over_a_random_seed(tmp_path: Path, stats_path: Path, random_backend: PoseBackend,
                                        caplog: pytest.LogCaptureFixture) -> None:
    import torch

    weights = tmp_path / "orpose_fixed_8x_model_final.pth"
    torch.save({"model": random_backend.model.state_dict()}, weights)
    with caplog.at_level(logging.WARNING):
        backend = build_backend(BackendOptions(weights=weights, random_seed=3, stats=stats_path, device="cpu"))
    assert "using the weights file" in caplog.text
    assert "RANDOM WEIGHTS" not in caplog.text
    assert backend.downsample_factor == 8  # from the weights' name
    backend.close()


@pytest.mark.parametrize("fp16", [False, True])
def test_a_missing_gpu_falls_back_to_the_cpu_loudly(stats_path: Path, fp16: bool,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    import torch

    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU")
    with caplog.at_level(logging.ERROR):
        backend = build_backend(BackendOptions(random_seed=0, stats=stats_path, device="cuda", fp16=fp16))
    assert str(backend.device) == "cpu"
    assert "falling back to the CPU" in caplog.text
    assert ("without fp16" in caplog.text) is fp16
    backend.close()
