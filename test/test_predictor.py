"""End to end on the shared OR frames with a random detecting checkpoint of the official layout.

Every forward pass costs seconds on a CPU: the model is built once per module and the results of
the single-frame calls are shared between tests.
"""

from __future__ import annotations

import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import read_bgr

from orpose_ros import privacy
from orpose_ros.h36m_stats import StatsError
from orpose_ros.model import CheckpointError, DeviceUnavailableError, InferenceCancelledError, OrPosePredictor
from orpose_ros.model.random_weights import random_state_dict
from orpose_ros.poses import FramePoses

torch.set_num_threads(2)

SEED = 0


@pytest.fixture(scope="module")
def predictor(stats_path: Path) -> OrPosePredictor:
    return OrPosePredictor.with_random_weights(SEED, stats=stats_path, device="cpu", downsample_factor=1)


@pytest.fixture(scope="module")
def frames(mvor_frames: list[Path]) -> list[np.ndarray]:
    """Three shared 53x40 frames upsampled to 640x480 as the demo's --restore-size does."""
    return [privacy.restore(read_bgr(mvor_frames[i]), (480, 640)) for i in (0, 20, 40)]


@pytest.fixture(scope="module")
def singles(predictor: OrPosePredictor, frames: list[np.ndarray]) -> list[FramePoses]:
    return [predictor.predict([frame])[0] for frame in frames]


def _assert_same_poses(a: FramePoses, b: FramePoses) -> None:
    assert (a.width, a.height, len(a.persons)) == (b.width, b.height, len(b.persons))
    for pa, pb in zip(a.persons, b.persons, strict=True):
        assert pa.score == pytest.approx(pb.score, abs=1e-5)
        np.testing.assert_allclose(pa.bbox, pb.bbox, atol=1e-3)
        np.testing.assert_allclose(pa.keypoints_2d, pb.keypoints_2d, atol=1e-3)
        np.testing.assert_allclose(pa.keypoints_3d, pb.keypoints_3d, atol=1e-5)


def test_people_are_detected_with_well_formed_outputs(singles: list[FramePoses], frames) -> None:
    for poses, frame in zip(singles, frames, strict=True):
        assert (poses.height, poses.width) == frame.shape[:2] == (480, 640)
        assert poses.downsample_factor == 1
        assert poses.model_view is None
        assert len(poses.persons) >= 1
        scores = [p.score for p in poses.persons]
        assert scores == sorted(scores, reverse=True)
        assert min(scores) > 0.5
        assert max(scores) <= 1.0
        for person in poses.persons:
            assert person.bbox.shape == (4,)
            assert person.bbox.dtype == np.float32
            assert person.keypoints_2d.shape == (17, 3)
            assert person.keypoints_2d.dtype == np.float32
            assert person.keypoints_3d.shape == (17, 3)
            assert person.keypoints_3d.dtype == np.float32
            assert np.isfinite(person.bbox).all()
            assert np.isfinite(person.keypoints_2d).all()
            assert np.isfinite(person.keypoints_3d).all()
            x1, y1, x2, y2 = person.bbox
            assert 0 <= x1 < x2 <= 640
            assert 0 <= y1 < y2 <= 480
            # 2D keypoints come from heatmaps inside the box (pixel centres, so within half a pixel)
            kx, ky, ks = person.keypoints_2d.T
            assert (kx >= x1 - 0.5).all()
            assert (kx <= x2 + 0.5).all()
            assert (ky >= y1 - 0.5).all()
            assert (ky <= y2 + 0.5).all()
            assert ((ks >= 0) & (ks <= 1)).all()
            assert person.keypoints_3d[0].tolist() == [0.0, 0.0, 0.0]  # pelvis-relative
            assert 0.01 < np.abs(person.keypoints_3d[1:]).max() < 10.0  # metres, not millimetres


def test_three_same_size_frames_batched_equal_three_single_calls(predictor, frames, singles) -> None:
    batched = predictor.predict(frames, return_model_view=True)
    assert len(batched) == 3
    for a, b, frame in zip(batched, singles, frames, strict=True):
        _assert_same_poses(a, b)
        # without privacy the model sees the frame itself; the caller gets a copy
        np.testing.assert_array_equal(a.model_view, frame)
        assert not np.shares_memory(a.model_view, frame)
    # the frames differ, so do their detections: the comparison is not vacuous
    assert not np.allclose(singles[0].persons[0].bbox, singles[2].persons[0].bbox)


def test_mixed_sizes_are_run_in_separate_batches(predictor, frames, singles, mvor_frames) -> None:
    wide = privacy.restore(read_bgr(mvor_frames[30]), (360, 640))
    out = predictor.predict([frames[0], wide])
    _assert_same_poses(out[0], singles[0])
    assert (out[1].height, out[1].width) == (360, 640)
    for person in out[1].persons:
        x1, y1, x2, y2 = person.bbox
        assert 0 <= x1 < x2 <= 640
        assert 0 <= y1 < y2 <= 360


@pytest.fixture(scope="module")
def privacy_run(predictor: OrPosePredictor, frames) -> tuple[np.ndarray, FramePoses]:
    private = OrPosePredictor(predictor.model, predictor.cfg, device="cpu", downsample_factor=12)
    return frames[1], private.predict([frames[1]], return_model_view=True)[0]


def test_privacy_mode_never_shows_the_original(privacy_run) -> None:
    frame, poses = privacy_run
    assert poses.downsample_factor == 12
    assert (poses.height, poses.width) == (480, 640)
    view = poses.model_view
    assert view is not None
    assert view.shape == frame.shape
    assert view.dtype == np.uint8
    assert not np.shares_memory(view, frame)
    assert not np.array_equal(view, frame)
    np.testing.assert_array_equal(view, privacy.shrink_and_restore(frame, 12))


def test_torch_preprocessing_gives_the_published_results(predictor, privacy_run) -> None:
    frame, pil_poses = privacy_run
    fast = OrPosePredictor(predictor.model, predictor.cfg, device="cpu", downsample_factor=12, gpu_preprocess=True)
    poses = fast.predict([frame], return_model_view=True)[0]
    np.testing.assert_array_equal(poses.model_view, pil_poses.model_view)
    _assert_same_poses(poses, pil_poses)


@pytest.mark.parametrize(
    ("frame", "message"),
    [
        (np.zeros((480, 640), np.uint8), r"frame 0: expected shape \(H, W, 3\)"),
        (np.zeros((480, 640, 4), np.uint8), r"frame 0: expected shape \(H, W, 3\)"),
        (np.zeros((480, 640, 3), np.float32), "frame 0: expected dtype uint8"),
        (np.zeros((0, 640, 3), np.uint8), "frame 0: empty frame"),
        ([[1, 2, 3]], "frame 0: expected a numpy array"),
    ],
)
def test_bad_frames_raise_value_error(predictor, frame, message) -> None:
    with pytest.raises(ValueError, match=message):
        predictor.predict([frame])


def test_bare_array_instead_of_a_list_is_rejected(predictor, frames) -> None:
    with pytest.raises(ValueError, match="sequence"):
        predictor.predict(frames[0])


def test_frame_too_small_for_the_privacy_factor(predictor) -> None:
    private = OrPosePredictor(predictor.model, predictor.cfg, device="cpu", downsample_factor=12)
    with pytest.raises(ValueError, match=r"frame 1: .*too small"):
        private.predict([np.zeros((480, 640, 3), np.uint8), np.zeros((8, 640, 3), np.uint8)])


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error raised when there is no GPU")
@pytest.mark.parametrize("device", ["cuda", "cuda:1"])
def test_cuda_without_gpu_raises(predictor, device: str) -> None:
    with pytest.raises(DeviceUnavailableError, match="CUDA is not available"):
        OrPosePredictor(predictor.model, predictor.cfg, device=device)


def test_fp16_on_cpu_raises(predictor) -> None:
    with pytest.raises(ValueError, match="fp16 needs a CUDA device"):
        OrPosePredictor(predictor.model, predictor.cfg, device="cpu", fp16=True)


@pytest.mark.parametrize("kw", [{"downsample_factor": 0}, {"score_threshold": 1.5}, {"device": "tpu"}])
def test_bad_settings_raise_value_error(predictor, kw) -> None:
    with pytest.raises(ValueError):
        OrPosePredictor(predictor.model, predictor.cfg, **{"device": "cpu", **kw})


def test_from_files_reports_missing_weights_first(tmp_path: Path) -> None:
    with pytest.raises(CheckpointError, match="weights file not found"):
        OrPosePredictor.from_files(tmp_path / "orpose_fixed_12x_model_final.pth", device="cpu")


def test_from_files_loads_strictly_and_reads_the_factor(
    tmp_path: Path, predictor, stats_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    weights = tmp_path / "orpose_fixed_10x_model_final.pth"
    torch.save({"model": random_state_dict(predictor.model, seed=5)}, weights)
    monkeypatch.setenv("ORPOSE_MODELS_DIR", str(tmp_path / "models"))
    with pytest.raises(StatsError, match=r"h36stats\.json"):  # none beside the weights, none in models/
        OrPosePredictor.from_files(weights, device="cpu")
    loaded = OrPosePredictor.from_files(weights, stats=stats_path, device="cpu")
    assert loaded.downsample_factor == 10
    assert loaded.score_threshold == 0.5
    key = "roi_heads.keypoint_head.nw2Dto3D_soft.w1.weight"
    expected = random_state_dict({key: ((1024, 32), torch.float32)}, seed=5)[key]  # per-key generators
    assert torch.equal(loaded.model.state_dict()[key], expected)
    explicit = OrPosePredictor.from_files(weights, stats=stats_path, device="cpu", downsample_factor=1)
    assert explicit.downsample_factor == 1


def test_random_weights_warn_loudly(caplog: pytest.LogCaptureFixture, monkeypatch, tmp_path: Path) -> None:
    monkeypatch.setenv("ORPOSE_MODELS_DIR", str(tmp_path))  # no stats file there
    with caplog.at_level("WARNING"):
        random = OrPosePredictor.with_random_weights(1, device="cpu")
    assert "RANDOM WEIGHTS" in caplog.text
    assert "placeholder statistics" in caplog.text
    assert random.cfg.MODEL.ROI_KEYPOINTS3D_HEAD.STATS_FILE == "placeholder"


def test_a_frame_shrunk_at_the_source_gives_the_poses_of_the_full_frame(predictor, privacy_run) -> None:
    """Low-resolution input (restore_to) and full-resolution input share the restore step: same poses."""
    frame, full_poses = privacy_run
    private = OrPosePredictor(predictor.model, predictor.cfg, device="cpu", downsample_factor=12)
    small = privacy.shrink(frame, 12)
    assert small.shape == (40, 53, 3)
    poses = private.predict([small], restore_to=[(480, 640)], return_model_view=True)[0]
    assert (poses.width, poses.height, poses.downsample_factor) == (640, 480, 12)
    np.testing.assert_array_equal(poses.model_view, full_poses.model_view)
    _assert_same_poses(poses, full_poses)


def test_the_factor_of_a_shrunk_frame_is_read_from_its_size(predictor) -> None:
    assert predictor.check_frame(np.zeros((48, 64, 3), np.uint8), restore_to=(480, 640)) == 10
    assert predictor.check_frame(np.zeros((480, 640, 3), np.uint8)) == 1
    with pytest.raises(ValueError, match="not an integer shrink of 640x480"):
        predictor.check_frame(np.zeros((47, 64, 3), np.uint8), restore_to=(480, 640))


def test_cancel_stops_a_running_forward_pass_from_another_thread(stats_path: Path, frames) -> None:
    victim = OrPosePredictor.with_random_weights(SEED, stats=stats_path, device="cpu")
    timer = threading.Timer(0.3, victim.cancel)
    timer.start()
    started = time.monotonic()
    with pytest.raises(InferenceCancelledError):
        victim.predict(frames)  # three frames: several seconds of work on a CPU
    assert time.monotonic() - started < 2.0
    timer.join()
    victim.close()
    assert victim.model is None
    with pytest.raises(InferenceCancelledError):
        victim.predict(frames[:1])
