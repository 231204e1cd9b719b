"""OpenVINO session on an exported ORPose graph (Intel's runtime, CPU here). Imports no torch.

OpenVINO reads the ONNX graph directly (no conversion step). Precision is FP32 unless asked: the CPU
plug-in would otherwise pick bf16 on CPUs that have it, which moved keypoints by up to 200 px in
the measurements behind issue 15 (`precision="bf16"` exists for the benchmark, never by default).
"""

from __future__ import annotations

import logging
import threading

import numpy as np
import openvino as ov

from orpose_ros.backends.model_folder import GRAPH_INPUT, GRAPH_MIN_SCORE, GRAPH_OUTPUTS, ExportedModel
from orpose_ros.backends.protocol import BackendError, DeviceUnavailableError, InferenceCancelledError

logger = logging.getLogger(__name__)

#: precision name -> OpenVINO's INFERENCE_PRECISION_HINT.
PRECISIONS = {"fp32": "f32", "bf16": "bf16", "fp16": "f16"}


class OpenVinoRunner:
    """An `orpose_ros.backends.exported.GraphRunner` with OpenVINO.

    Args:
        model: the opened folder.
        device: ``cpu`` or ``auto`` (the CPU); a GPU device raises `DeviceUnavailableError`.
        threads: inference threads (0: OpenVINO's default).
        precision: ``fp32`` (default), ``bf16`` or ``fp16`` (reduced: only when asked, and reported).
    """

    name = "openvino"

    def __init__(self, model: ExportedModel, device: str = "cpu", threads: int = 0, precision: str = "fp32") -> None:
        if str(device) not in ("cpu", "auto"):
            raise DeviceUnavailableError(f"device {device!r}: the openvino backend runs on the CPU only here; "
                                         "use onnxruntime (onnxruntime-gpu) or detectron2 for a GPU")
        if precision not in PRECISIONS:
            raise BackendError(f"unknown precision {precision!r} for openvino; expected one of {', '.join(PRECISIONS)}")
        self.device = "cpu"
        self.precision = precision
        config: dict[str, object] = {"INFERENCE_PRECISION_HINT": PRECISIONS[precision]}
        if threads:
            config["INFERENCE_NUM_THREADS"] = threads
        try:
            core = ov.Core()
            self._compiled = core.compile_model(core.read_model(str(model.graph_path)), "CPU", config)
        except Exception as error:
            raise BackendError(f"openvino cannot load {model.graph_path}: {' '.join(str(error).split())[:300]}"
                               ) from error
        self._request = self._compiled.create_infer_request()
        self._outputs = [self._compiled.output(name) for name in GRAPH_OUTPUTS]
        self._cancelled = threading.Event()
        logger.info("openvino %s on the CPU, %s", ov.get_version(), precision)

    def run(self, image: np.ndarray, min_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """See `GraphRunner.run`."""
        if self._cancelled.is_set():
            raise InferenceCancelledError("inference cancelled")
        try:
            self._request.infer({GRAPH_INPUT: image, GRAPH_MIN_SCORE: min_score})
        except Exception as error:
            if self._cancelled.is_set():
                raise InferenceCancelledError("inference cancelled") from None
            raise BackendError(f"openvino failed: {' '.join(str(error).split())[:300]}") from error
        if self._cancelled.is_set():
            raise InferenceCancelledError("inference cancelled")
        return tuple(np.array(self._request.get_tensor(out).data) for out in self._outputs)  # type: ignore[return-value]

    def cancel(self) -> None:
        """Stop a running `run` (OpenVINO's request cancel) and refuse later ones."""
        self._cancelled.set()
        self._request.cancel()

    def close(self) -> None:
        self.cancel()
        self._request = None
        self._compiled = None
