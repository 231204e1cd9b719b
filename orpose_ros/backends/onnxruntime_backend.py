"""ONNX Runtime session on an exported ORPose graph (CPU; CUDA and TensorRT execution providers when
installed: ``pip install onnxruntime-gpu`` instead of ``onnxruntime``). Imports no torch.

Devices: ``cpu``; ``cuda`` / ``cuda:N`` (CUDA EP, CPU EP for what it lacks); ``tensorrt`` /
``tensorrt:N`` (TensorRT EP first, then CUDA, then CPU: TensorRT takes the parts it can build, the
data-dependent NMS stays with CUDA/CPU); ``auto``: CUDA when the provider is present, else the CPU.
A GPU device whose provider is missing raises `DeviceUnavailableError` (the factory falls back to
the CPU loudly).
"""

from __future__ import annotations

import logging
import re
import threading

import numpy as np
import onnxruntime as ort

from orpose_ros.backends.model_folder import GRAPH_INPUT, GRAPH_MIN_SCORE, GRAPH_OUTPUTS, ExportedModel
from orpose_ros.backends.protocol import BackendError, DeviceUnavailableError, InferenceCancelledError

logger = logging.getLogger(__name__)

_DEVICE = re.compile(r"^(auto|cpu|cuda|tensorrt)(?::(\d+))?$")
_CPU, _CUDA, _TRT = "CPUExecutionProvider", "CUDAExecutionProvider", "TensorrtExecutionProvider"


def providers_for(device: str, available: list[str] | None = None) -> tuple[list, str]:
    """ONNX Runtime providers for ``device``, and the device's printable name.

    Raises:
        DeviceUnavailableError: a GPU device whose provider this onnxruntime lacks.
        BackendError: an unknown device string.
    """
    available = ort.get_available_providers() if available is None else available
    match = _DEVICE.match(str(device))
    if match is None:
        raise BackendError(f"unknown device {device!r} for onnxruntime: use auto, cpu, cuda[:N] or tensorrt[:N]")
    kind, index = match.group(1), int(match.group(2) or 0)
    if kind == "auto":
        kind = "cuda" if _CUDA in available else "cpu"
    if kind == "cpu":
        return [_CPU], "cpu"
    needed = [_TRT, _CUDA] if kind == "tensorrt" else [_CUDA]
    missing = [p for p in needed if p not in available]
    if missing:
        raise DeviceUnavailableError(
            f"device {device!r} needs ONNX Runtime's {' and '.join(missing)}, which onnxruntime {ort.__version__} "
            f"here lacks (it has {', '.join(available)}): install onnxruntime-gpu (and TensorRT) instead of "
            "onnxruntime, or use device 'cpu'"
        )
    providers: list = [(_CUDA, {"device_id": index}), _CPU]
    if kind == "tensorrt":
        providers.insert(0, (_TRT, {"device_id": index, "trt_engine_cache_enable": True}))
    return providers, f"{kind}:{index}"


class OnnxRuntimeRunner:
    """An `orpose_ros.backends.exported.GraphRunner` with ONNX Runtime.

    Args:
        model: the opened folder.
        device: see the module docstring.
        threads: intra-op threads (0: ONNX Runtime's default, one per physical core).
    """

    name = "onnxruntime"

    def __init__(self, model: ExportedModel, device: str = "cpu", threads: int = 0) -> None:
        providers, self.device = providers_for(device)
        options = ort.SessionOptions()
        options.intra_op_num_threads = threads
        options.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        options.log_severity_level = 3  # errors only: the graph's shape warnings are expected
        try:
            self._session = ort.InferenceSession(str(model.graph_path), options, providers=providers)
        except Exception as error:
            raise BackendError(f"onnxruntime cannot load {model.graph_path}: {' '.join(str(error).split())[:300]}"
                               ) from error
        used = self._session.get_providers()
        if used[0] != (providers[0] if isinstance(providers[0], str) else providers[0][0]):
            raise DeviceUnavailableError(f"onnxruntime could not start {providers[0]} (it runs {used})")
        self._cancelled = threading.Event()
        self._run_options = ort.RunOptions()
        logger.info("onnxruntime %s on %s (%s)", ort.__version__, self.device, ", ".join(used))

    def run(self, image: np.ndarray, min_score: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
        """See `GraphRunner.run`."""
        if self._cancelled.is_set():
            raise InferenceCancelledError("inference cancelled")
        try:
            outputs = self._session.run(list(GRAPH_OUTPUTS), {GRAPH_INPUT: image, GRAPH_MIN_SCORE: min_score},
                                        self._run_options)
        except Exception as error:
            if self._cancelled.is_set():
                raise InferenceCancelledError("inference cancelled") from None
            raise BackendError(f"onnxruntime failed: {' '.join(str(error).split())[:300]}") from error
        return tuple(outputs)  # type: ignore[return-value]

    def cancel(self) -> None:
        """Interrupt a running `run` (ONNX Runtime's terminate flag) and refuse later ones."""
        self._cancelled.set()
        self._run_options.terminate = True

    def close(self) -> None:
        self.cancel()
        self._session = None
