"""orpose-export and the exported backends (ONNX Runtime, OpenVINO) against detectron2 eager, on CPU.

One random detecting checkpoint of the official layout is exported once per module with a small
network input (shortest edge 320 instead of 800: a few seconds per forward instead of ~10 on a shared
2-core machine); detectron2 runs with the same input rule. Equality is issue 15's: the same people
above the threshold, boxes and 2D keypoints within 0.01 px, 3D joints within 0.01 mm.
"""

from __future__ import annotations

import json
import logging
import shutil
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch
from conftest import read_bgr

from orpose_ros import privacy
from orpose_ros.backends import BackendError, BackendOptions, InferenceCancelledError, build_backend
from orpose_ros.backends.comparison import EXPORT_TOLERANCE, FrameArrays, compare_outputs
from orpose_ros.backends.model_folder import GRAPH_FILE, MANIFEST_FILE, ExportedModel, ModelFolderError, sha256_of
from orpose_ros.cli import export as export_cli
from orpose_ros.model import OrPosePredictor
from orpose_ros.model.random_weights import random_state_dict

torch.set_num_threads(2)

INPUT_RULE = (320, 448)  # network input: shortest edge, longest edge
RUNTIMES = ("onnxruntime", "openvino")


def _small_input(predictor: OrPosePredictor) -> OrPosePredictor:
    cfg = predictor.cfg.clone()
    cfg.defrost()
    cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST = INPUT_RULE
    cfg.freeze()
    return OrPosePredictor(predictor.model, cfg, device="cpu", downsample_factor=predictor.downsample_factor,
                           score_threshold=predictor.score_threshold)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory: pytest.TempPathFactory, stats_path: Path) -> Path:
    """Random detecting weights of the official layout, named as the 12x checkpoint."""
    folder = tmp_path_factory.mktemp("weights")
    model = OrPosePredictor.with_random_weights(0, stats_path, device="cpu").model
    path = folder / "orpose_fixed_12x_model_final.pth"
    torch.save({"model": random_state_dict(model, 0)}, path)
    shutil.copy(stats_path, folder / "h36stats.json")
    return path


@pytest.fixture(scope="module")
def exported(checkpoint: Path, tmp_path_factory: pytest.TempPathFactory, reference_dir: Path) -> Path:
    """orpose-export on the checkpoint, verified on two real OR frames restored to 640x480."""
    out = tmp_path_factory.mktemp("export") / "orpose_12x"
    status = export_cli.main(["--weights", str(checkpoint), "--out", str(out), "--input-size", "320,448",
                              "--frames", str(reference_dir / "mvor_seq1_x12"), "--restore-size", "640x480"])
    assert status == 0
    return out


@pytest.fixture(scope="module")
def detectron2(checkpoint: Path) -> OrPosePredictor:
    return _small_input(OrPosePredictor.from_files(checkpoint, device="cpu"))


@pytest.fixture(scope="module")
def frames(mvor_frames: list[Path]) -> list[np.ndarray]:
    """Three shared frames (not the verification ones) restored to 640x480, and one at 640x360."""
    restored = [privacy.restore(read_bgr(mvor_frames[i]), (480, 640)) for i in (5, 25, 45)]
    return [*restored, privacy.restore(read_bgr(mvor_frames[33]), (360, 640))]


@pytest.fixture(scope="module")
def reference(detectron2: OrPosePredictor, frames: list[np.ndarray]) -> list[FrameArrays]:
    return [FrameArrays.from_frame_poses(detectron2.predict([f])[0]) for f in frames]


def test_the_export_module_imports_first_in_a_fresh_python() -> None:
    """orpose-export imports it before anything else: detectron2's shims must come with it."""
    import subprocess
    import sys

    done = subprocess.run([sys.executable, "-c", "import orpose_ros.model.export"], capture_output=True,
                          text=True, timeout=120)
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_export_writes_a_verified_self_describing_folder(exported: Path, checkpoint: Path) -> None:
    manifest = json.loads((exported / MANIFEST_FILE).read_text())
    assert manifest["checkpoint"] == {"name": checkpoint.name, "bytes": checkpoint.stat().st_size,
                                      "sha256": sha256_of(checkpoint)}
    for runtime in RUNTIMES:
        check = manifest["verification"]["runtimes"][runtime]
        assert check["within_tolerance"]
        assert check["unmatched"] == 0
        assert check["persons_reference"] > 10
    model = ExportedModel.open(exported)
    assert model.downsample_factor == 12  # from the checkpoint's name
    assert (model.input_rule["min_size"], model.input_rule["max_size"]) == INPUT_RULE
    assert model.config["input"]["pixel_mean"] == [103.53, 116.28, 123.675]
    assert len(model.config["h36m_stats"]["dim_to_use_3d"]) == 48
    assert not list(exported.parent.glob(".orpose_12x.*"))  # no temporary folder left


@pytest.mark.parametrize("runtime", RUNTIMES)
def test_each_runtime_gives_detectron2_s_people(runtime: str, exported: Path, frames: list[np.ndarray],
                                                reference: list[FrameArrays]) -> None:
    backend = build_backend(BackendOptions(weights=exported, kind=runtime, device="cpu"))
    try:
        assert (backend.name, str(backend.device), backend.downsample_factor) == (runtime, "cpu", 12)
        results = backend.predict(frames)  # 3 frames of one size and one of another (dynamic input size)
    finally:
        backend.close()
    assert [(r.height, r.width) for r in results] == [f.shape[:2] for f in frames]
    check = compare_outputs(reference, [FrameArrays.from_frame_poses(r) for r in results], EXPORT_TOLERANCE)
    assert check["persons_reference"] >= 8
    assert check["persons_tested"] == check["persons_reference"]
    assert check["within_tolerance"], check
    assert check["same_order"], check


def test_frames_that_arrive_shrunk_are_restored_the_same_way(exported: Path, detectron2: OrPosePredictor,
                                                             mvor_frames: list[Path]) -> None:
    small = read_bgr(mvor_frames[50])  # 53x40: a 12x shrink of 640x480
    backend = build_backend(BackendOptions(weights=exported, kind="onnxruntime", device="cpu"))
    backend.score_threshold = detectron2.score_threshold = 0.3  # a run-time change reaches the graph's input
    try:
        ours = backend.predict([small], restore_to=[(480, 640)], return_model_view=True)[0]
        theirs = detectron2.predict([small], restore_to=[(480, 640)])[0]
    finally:
        backend.close()
        detectron2.score_threshold = 0.5
    assert min(p.score for p in ours.persons) <= 0.5  # persons between 0.3 and 0.5 are there
    assert ours.downsample_factor == 12
    assert ours.model_view.shape == (480, 640, 3)
    check = compare_outputs([FrameArrays.from_frame_poses(theirs)], [FrameArrays.from_frame_poses(ours)],
                            EXPORT_TOLERANCE)
    assert check["persons_reference"] >= 1, check
    assert check["within_tolerance"], check


def test_auto_takes_a_verified_runtime_for_a_folder(exported: Path) -> None:
    backend = build_backend(BackendOptions(weights=exported, device="cpu"))
    assert backend.name == "openvino"  # installed, verified at export, the faster one on a CPU
    backend.close()


def test_a_missing_gpu_provider_falls_back_to_the_cpu_loudly(exported: Path, caplog: pytest.LogCaptureFixture) -> None:
    import onnxruntime

    if "CUDAExecutionProvider" in onnxruntime.get_available_providers():
        pytest.skip("this onnxruntime has the CUDA provider")
    with caplog.at_level(logging.ERROR):
        backend = build_backend(BackendOptions(weights=exported, kind="onnxruntime", device="cuda"))
    assert str(backend.device) == "cpu"
    assert "needs ONNX Runtime's CUDAExecutionProvider" in caplog.text
    assert "onnxruntime-gpu" in caplog.text
    backend.close()


def test_tensorrt_asks_for_its_provider_then_cuda() -> None:
    from orpose_ros.backends.onnxruntime_backend import providers_for

    everything = ["TensorrtExecutionProvider", "CUDAExecutionProvider", "CPUExecutionProvider"]
    providers, device = providers_for("tensorrt:1", everything)
    assert [p[0] if isinstance(p, tuple) else p for p in providers] == everything
    assert device == "tensorrt:1"
    assert providers_for("auto", ["CPUExecutionProvider"]) == (["CPUExecutionProvider"], "cpu")
    with pytest.raises(BackendError, match="unknown device 'gpu'"):
        providers_for("gpu", everything)


def test_cancel_stops_a_running_prediction(exported: Path, frames: list[np.ndarray]) -> None:
    backend = build_backend(BackendOptions(weights=exported, kind="onnxruntime", device="cpu"))
    raised: list[BaseException] = []

    def predict() -> None:
        try:
            backend.predict(frames * 3)
        except BaseException as error:  # recorded for the assertion
            raised.append(error)

    worker = threading.Thread(target=predict)
    worker.start()
    time.sleep(1.0)
    backend.cancel()
    worker.join(timeout=30)
    assert not worker.is_alive()
    assert len(raised) == 1
    assert isinstance(raised[0], InferenceCancelledError)
    backend.close()
    with pytest.raises(InferenceCancelledError):
        backend.predict(frames[:1])


def test_wrong_kinds_and_factors_are_one_line_errors(exported: Path, checkpoint: Path) -> None:
    cases = [
        (BackendOptions(weights=exported, kind="detectron2"), "the detectron2 backend needs a checkpoint"),
        (BackendOptions(weights=checkpoint, kind="onnxruntime"), "runs an exported model folder.*orpose-export"),
        (BackendOptions(random_seed=0, kind="openvino"), "runs an exported model folder"),
        (BackendOptions(weights=exported, kind="onnxruntime", downsample_factor=8),
         "trained for 12x frames, not 8x"),
        (BackendOptions(weights=exported, kind="onnxruntime", device="cpu", fp16=True), "fp16 is not available"),
    ]
    for options, message in cases:
        with pytest.raises(BackendError, match=message) as raised:
            build_backend(options)
        assert "\n" not in str(raised.value)


def _copy_small_files(exported: Path, target: Path) -> Path:
    target.mkdir()
    for path in exported.iterdir():
        if path.name != GRAPH_FILE:
            shutil.copy(path, target / path.name)
    return target


def test_a_broken_folder_is_named_in_one_line(exported: Path, tmp_path: Path) -> None:
    no_manifest = _copy_small_files(exported, tmp_path / "no_manifest")
    (no_manifest / MANIFEST_FILE).unlink()
    truncated = _copy_small_files(exported, tmp_path / "truncated")
    (truncated / GRAPH_FILE).write_bytes((exported / GRAPH_FILE).read_bytes()[:1000])
    corrupted = _copy_small_files(exported, tmp_path / "corrupted")
    with open(corrupted / GRAPH_FILE, "wb") as f:  # the right size, other bytes
        f.truncate((exported / GRAPH_FILE).stat().st_size)
    cases = [
        (tmp_path / "absent", "weights file not found"),
        (no_manifest, "is not an exported ORPose model \\(no manifest.json\\)"),
        (truncated, "detector.onnx is truncated or altered"),
        (corrupted, "detector.onnx is corrupted"),
    ]
    for folder, message in cases:
        with pytest.raises(BackendError, match=message) as raised:
            build_backend(BackendOptions(weights=folder, kind="onnxruntime"))
        assert "\n" not in str(raised.value)
    with pytest.raises(ModelFolderError, match="orpose-export --weights"):
        ExportedModel.open(truncated)


def test_a_failed_verification_leaves_nothing(exported: Path, checkpoint: Path, detectron2: OrPosePredictor,
                                               frames: list[np.ndarray], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    """An export whose lifting differs from detectron2's by 1 % (a deliberate fault) must fail, leaving nothing."""
    from orpose_ros.model import export as onnx_export

    right = onnx_export._lifting_params

    def slightly_wrong(predictor: OrPosePredictor) -> dict[str, np.ndarray]:
        params = right(predictor)
        params["nw2Dto3D_hard.w2.bias"] = params["nw2Dto3D_hard.w2.bias"] * 1.01
        return params

    monkeypatch.setattr(onnx_export, "export_graph", lambda predictor, path, *_, **__: shutil.copy(
        exported / GRAPH_FILE, path))  # the graph traced once by the module fixture
    monkeypatch.setattr(onnx_export, "_lifting_params", slightly_wrong)
    out = tmp_path / "bad"
    with pytest.raises(onnx_export.ExportError, match=r"differs from detectron2.*joint_3d_m"):
        onnx_export.export_model(detectron2, out, checkpoint=checkpoint, downsample_factor=12, frames=frames[:1],
                                 runtimes=["onnxruntime"])
    assert not out.exists()
    assert not list(tmp_path.glob(".bad.*"))


# ------------------------------------------------------------------------------------------
# Without detectron2 (and without torch): orpose-infer and orpose_node on the exported folder

_GUARD = '''"""Test guard: this Python cannot import detectron2, torch or torchvision."""
import sys


class _NoTorch:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in ("detectron2", "torch", "torchvision"):
            raise ImportError(f"{name} is not installed here (test guard)")
        return None


sys.meta_path.insert(0, _NoTorch())
'''


@pytest.fixture(scope="module")
def no_torch_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The environment of a child Python that cannot import detectron2 nor torch (a sitecustomize guard)."""
    import os
    import subprocess
    import sys

    guard = tmp_path_factory.mktemp("no_torch")
    (guard / "sitecustomize.py").write_text(_GUARD)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([str(guard), os.environ.get("PYTHONPATH", "")]),
               PYTHONUNBUFFERED="1")
    env.pop("_ROS_WHEELS_BOOTSTRAP_COMPLETE", None)
    probe = subprocess.run([sys.executable, "-c", "import detectron2"], env=env, capture_output=True, text=True)
    assert probe.returncode != 0
    assert "test guard" in probe.stderr  # the guard is in force
    return env


def test_orpose_infer_runs_an_exported_folder_without_detectron2_or_torch(
        exported: Path, no_torch_env: dict, reference_dir: Path, tmp_path: Path, detectron2: OrPosePredictor,
        mvor_frames: list[Path]) -> None:
    import subprocess
    import sys

    out = tmp_path / "poses.json"
    frame = mvor_frames[10]
    (tmp_path / "in").mkdir()
    shutil.copy(frame, tmp_path / "in" / frame.name)
    done = subprocess.run([sys.executable, "-m", "orpose_ros.cli.infer", str(tmp_path / "in"), "--weights",
                           str(exported), "--backend", "onnxruntime", "--restore-size", "640x480", "--device", "cpu",
                           "--json", str(out)], env=no_torch_env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]
    assert "Traceback" not in done.stderr
    persons = json.loads(out.read_text())["frames"][0]["persons"]
    theirs = detectron2.predict([read_bgr(frame)], restore_to=[(480, 640)])[0].persons
    assert len(persons) == len(theirs) >= 1
    for ours, person in zip(persons, theirs, strict=True):
        np.testing.assert_allclose(np.asarray(ours["keypoints_2d"])[:, :2], person.keypoints_2d[:, :2], atol=0.01)


@pytest.mark.ros
@pytest.mark.timeout(600)
def test_orpose_node_runs_an_exported_folder_without_detectron2_or_torch(exported: Path, no_torch_env: dict,
                                                                          tmp_path: Path) -> None:
    import subprocess

    from ros_tools.node_harness import NodePeer, header, image_msg, start_node, wait_until
    from sensor_msgs.msg import Image

    from orpose_ros.ros.processes import ros_child_env
    from orpose_ros.synthetic_scene import synthetic_frame

    env = ros_child_env(no_torch_env, log_dir=tmp_path / "ros_log")
    topic, log = "/cam/image_raw", tmp_path / "node.log"
    process = start_node({"image_topics": [topic], "weights": exported, "backend": "onnxruntime", "device": "cpu",
                          "qos_reliability": "reliable"}, env, log)
    peer = NodePeer(env, {topic: Image})
    try:
        assert peer.wait_for_subscriber(topic, 120), log.read_text()[-3000:]
        peer.publish(topic, image_msg(synthetic_frame(3), "bgr8", header(7, 1, "cam_optical")))
        assert wait_until(lambda: peer.inbox.poses_with_stamp(7, 1), 120), log.read_text()[-3000:]
        message = peer.inbox.poses_with_stamp(7, 1)[0]
        assert (message.image_width, message.image_height, message.downsample_factor) == (640, 480, 12)
    finally:
        peer.close()
        process.send_signal(2)
        try:
            process.wait(20)
        except subprocess.TimeoutExpired:
            process.kill()
    text = log.read_text()
    assert "onnxruntime" in text
    assert "Traceback" not in text


def test_a_graph_exported_for_one_frame_size_refuses_others(exported: Path) -> None:
    """``--fixed-size`` records the frame size in config.json; the backend then refuses other sizes in one line."""
    import dataclasses

    from orpose_ros.backends.exported import ExportedBackend

    model = ExportedModel.open(exported, check_hashes=False)
    fixed = dataclasses.replace(model, config={**model.config, "input": {**model.input_rule,
                                                                          "fixed_frame_size": [480, 640]}})

    class NoGraph:  # check_frame never reaches the runtime
        name, device = "none", "cpu"

    backend = ExportedBackend(fixed, NoGraph(), downsample_factor=12)
    assert backend.check_frame(np.zeros((480, 640, 3), np.uint8)) == 12
    assert backend.check_frame(np.zeros((40, 53, 3), np.uint8), restore_to=(480, 640)) == 12
    with pytest.raises(ValueError, match="exported for 640x480 frames, this one is 640x360; export it without"):
        backend.check_frame(np.zeros((360, 640, 3), np.uint8))
    with pytest.raises(ValueError, match=r"frame 1: the graph .* was exported for 640x480"):
        backend.predict([np.zeros((480, 640, 3), np.uint8), np.zeros((720, 1280, 3), np.uint8)])
