"""Node parameters: declared with descriptors, validated into NodeConfig (real rclpy nodes)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import rclpy
from rclpy.node import Node
from rclpy.parameter import Parameter

from orpose_ros.ros.parameters import ConfigError, declare_parameters, read_config


@pytest.fixture(scope="module", autouse=True)
def ros_context() -> Iterator[None]:
    rclpy.init()
    yield
    rclpy.try_shutdown()


def _config(**overrides: object):
    node = Node("param_test", parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
    try:
        declare_parameters(node)
        return read_config(node)
    finally:
        node.destroy_node()


def test_defaults() -> None:
    config = _config()
    assert config.image_topics == ("/camera/image_raw",)
    assert config.camera_info_topics == ()
    assert config.weights is None and config.random_weights_seed is None
    assert config.downsample_factor is None  # from the weights name
    assert (config.device, config.qos_reliability, config.qos_depth, config.score_threshold) == (
        "auto", "best_effort", 1, 0.5)


def test_values_are_carried_over() -> None:
    config = _config(image_topics=["/a/image_raw", "/b/image_raw/compressed"], weights="~/m.pth",
                     downsample_factor=10, random_weights_seed=3, device="cuda:1",
                     camera_info_topics=["/a/camera_info", "/b/camera_info"])
    assert config.weights == Path("~/m.pth").expanduser()
    assert (config.downsample_factor, config.random_weights_seed, config.device) == (10, 3, "cuda:1")
    assert config.camera_info_topics == ("/a/camera_info", "/b/camera_info")


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"device": "gpu"}, "device"),
        ({"qos_reliability": "sometimes"}, "qos_reliability"),
        ({"image_topics": ["/a", "/a"]}, "duplicates"),
        ({"image_topics": [" "]}, "image_topics"),
        ({"camera_info_topics": ["/only/one"], "image_topics": ["/a", "/b"]}, "camera_info_topics"),
    ],
)
def test_bad_values_name_the_parameter(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        _config(**overrides)


def test_out_of_range_values_are_refused_by_the_descriptor() -> None:
    with pytest.raises(rclpy.exceptions.InvalidParameterValueException):
        _config(score_threshold=1.5)
    with pytest.raises(rclpy.exceptions.InvalidParameterValueException):
        _config(qos_depth=0)
