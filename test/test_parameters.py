"""Node parameters declared once (NodeConfig): declaration, validation, runtime changes, and the docs
that list them (real rclpy nodes in this process; the parameter service is tested in test_node.py)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import rclpy
import yaml
from conftest import REPO
from rclpy.node import Node
from rclpy.parameter import Parameter

from orpose_ros.backends import BackendOptions
from orpose_ros.ros.node_config import NodeConfig
from orpose_ros.ros.parameter_docs import NODES, markdown, readme_markers, yaml_file
from orpose_ros.ros.parameters import ConfigError, ParameterSet

pytestmark = pytest.mark.ros


@pytest.fixture(scope="module", autouse=True)
def ros_context() -> Iterator[None]:
    rclpy.init()
    yield
    rclpy.try_shutdown()


@pytest.fixture
def declared() -> Iterator[tuple[Node, ParameterSet[NodeConfig]]]:
    node = Node("param_test")
    parameters = ParameterSet(NodeConfig)
    parameters.declare(node)
    yield node, parameters
    node.destroy_node()


def _config(**overrides: object) -> NodeConfig:
    node = Node("param_test", parameter_overrides=[Parameter(k, value=v) for k, v in overrides.items()])
    try:
        return ParameterSet(NodeConfig).declare(node)
    finally:
        node.destroy_node()


def test_defaults() -> None:
    config = _config()
    assert config == NodeConfig()
    assert config.image_topics == ("/camera/image_raw",)
    assert config.info_topic(0) == ""
    assert config.backend_options() == BackendOptions(device="auto", score_threshold=0.5)
    assert (config.device, config.qos_reliability, config.qos_depth, config.score_threshold) == (
        "auto", "best_effort", 1, 0.5)
    assert config.fixed_restore_size is None


def test_values_are_carried_over() -> None:
    config = _config(image_topics=["/a/image_raw", "/b/image_raw/compressed"], weights="~/m.pth",
                     downsample_factor=10, random_weights_seed=3, device="cuda:1",
                     camera_info_topics=["/a/camera_info", ""], restore_size="640x480")
    assert config.backend_options() == BackendOptions(weights=Path("~/m.pth").expanduser(), random_seed=3,
                                                      device="cuda:1", downsample_factor=10)
    assert (config.info_topic(0), config.info_topic(1)) == ("/a/camera_info", "")
    assert config.fixed_restore_size == (480, 640)


@pytest.mark.parametrize(
    ("overrides", "message"),
    [
        ({"device": "gpu"},
         "parameter 'device': 'gpu' is not of the accepted form; expected auto, cpu, cuda or cuda:N"),
        ({"qos_reliability": "sometimes"},
         "parameter 'qos_reliability': 'sometimes' is not an accepted value; expected one of best_effort, reliable"),
        ({"image_topics": ["/a", "/a"]}, "parameter 'image_topics': ['/a', '/a'] has duplicates"),
        ({"image_topics": [" "]}, "parameter 'image_topics': [' '] must list at least one topic"),
        ({"camera_info_topics": ["/only/one"], "image_topics": ["/a", "/b"]},
         "parameter 'camera_info_topics': 1 topic(s) for 2 image topic(s)"),
        ({"restore_size": "640x"}, "parameter 'restore_size': '640x' is not of the accepted form"),
        ({"restore_size": "camera_info"}, "parameter 'restore_size': 'camera_info' needs a camera_info topic"),
        ({"downsample_factor": 12.0}, "parameter 'downsample_factor':"),
        ({"score_threshold": 2.0}, "parameter 'score_threshold':"),
        ({"qos_depth": 0}, "parameter 'qos_depth':"),
    ],
)

def test_bad_values_are_one_line_naming_the_parameter_and_what_is_expected(overrides: dict, message: str) -> None:
    with pytest.raises(ConfigError) as error:
        _config(**overrides)
    text = str(error.value)
    assert text.startswith(message)
    assert "\n" not in text
    assert "expected" in text


def test_wrong_types_and_ranges_say_what_was_given(caplog: pytest.LogCaptureFixture) -> None:
    with pytest.raises(ConfigError, match=r"downsample_factor.*12\.0.*expected an integer in \[0, 64\]"):
        _config(downsample_factor=12.0)
    with pytest.raises(ConfigError, match=r"qos_depth.*expected an integer in \[1, 100\]"):
        _config(qos_depth=0)


def test_dynamic_changes_are_validated_then_replace_the_frozen_config(declared) -> None:
    node, parameters = declared
    seen = []
    parameters._on_change = lambda old, new: seen.append((old.score_threshold, new.score_threshold))
    before = parameters.config
    result = node.set_parameters([Parameter("score_threshold", value=0.8)])[0]
    assert result.successful
    assert parameters.config.score_threshold == 0.8
    assert before.score_threshold == 0.5  # replaced, not mutated
    assert seen == [(0.5, 0.8)]
    assert not node.set_parameters([Parameter("score_threshold", value=1.5)])[0].successful  # range
    assert not node.set_parameters([Parameter("device", value="cpu")])[0].successful  # read-only
    assert parameters.config.score_threshold == 0.8
    assert parameters.config.device == "auto"
    assert node.set_parameters([Parameter("publish_markers", value=False)])[0].successful
    assert parameters.config.publish_markers is False


def test_descriptors_carry_ranges_and_read_only(declared) -> None:
    node, _ = declared
    depth = node.describe_parameter("qos_depth")
    assert depth.read_only
    assert (depth.integer_range[0].from_value, depth.integer_range[0].to_value) == (1, 100)
    threshold = node.describe_parameter("score_threshold")
    assert not threshold.read_only
    assert threshold.floating_point_range[0].to_value == 1.0
    assert "best_effort" in node.describe_parameter("qos_reliability").additional_constraints


@pytest.mark.parametrize("node", sorted(NODES))
def test_shipped_yaml_and_readme_are_written_from_the_declarations(node: str) -> None:
    config, file_name = NODES[node]
    assert (REPO / "config" / file_name).read_text() == yaml_file(node)
    readme = (REPO / "README.md").read_text()
    start, end = readme_markers(node)
    assert readme.count(start) == 1, f"README.md has no parameter table of {node}"
    table = readme[readme.index(start) + len(start):readme.index(end)].strip()
    assert table == markdown(node)
    # and the written files read back as the declared defaults, every parameter once
    parameters = ParameterSet(config)
    shipped = yaml.safe_load((REPO / "config" / file_name).read_text())["/**"]["ros__parameters"]
    assert list(shipped) == list(parameters.fields)
    for name, value in shipped.items():
        assert (tuple(value) if isinstance(value, list) else value) == parameters.default(name), name
    rows = re.findall(r"^\| `(\w+)` \| `([^`]*)` \|", table, flags=re.M)
    assert [name for name, _ in rows] == list(parameters.fields)
