"""ROS message <-> plain dict for test assertions (rosidl_runtime_py is not on PyPI)."""

from __future__ import annotations

import array
import importlib
from pathlib import Path

import numpy as np

LARGE = 1024  # byte arrays longer than this go to a .npy file beside the JSON


def message_type(name: str) -> type:
    """'sensor_msgs/msg/Image' -> the class."""
    package, kind, cls = name.split("/")
    return getattr(importlib.import_module(f"{package}.{kind}"), cls)


def to_dict(value: object, blobs: Path | None = None, counter: list[int] | None = None) -> object:
    counter = [0] if counter is None else counter
    if hasattr(value, "get_fields_and_field_types"):
        return {name: to_dict(getattr(value, name), blobs, counter) for name in value.get_fields_and_field_types()}
    if isinstance(value, (bytes, array.array, np.ndarray)) and blobs is not None and len(value) > LARGE:
        counter[0] += 1
        path = blobs.with_name(f"{blobs.stem}_{counter[0]}.npy")
        np.save(path, np.frombuffer(bytes(value), dtype=np.uint8) if not isinstance(value, np.ndarray) else value)
        return {"npy": str(path)}
    if isinstance(value, (list, tuple, array.array, np.ndarray)):
        return [to_dict(v, blobs, counter) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    return value
