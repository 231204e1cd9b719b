"""Every node's parameter documentation, written from the declarations (`ParameterSet`): the README
tables and the shipped YAML files. A test checks that both agree with what this prints.

    python -m orpose_ros.ros.parameter_docs markdown orpose_fusion_node
    python -m orpose_ros.ros.parameter_docs yaml orpose_node > config/orpose.yaml
"""

from __future__ import annotations

import argparse
import sys

from orpose_ros.ros.fusion_node import FusionConfig
from orpose_ros.ros.node_config import NodeConfig
from orpose_ros.ros.parameters import ParameterSet
from orpose_ros.ros.privacy_filter_node import PrivacyFilterConfig
from orpose_ros.ros.zone_config import ZoneMonitorConfig

#: node name -> (its config dataclass, its shipped parameter file under config/).
NODES: dict[str, tuple[type, str]] = {
    "orpose_node": (NodeConfig, "orpose.yaml"),
    "orpose_fusion_node": (FusionConfig, "orpose_fusion.yaml"),
    "orpose_privacy_filter": (PrivacyFilterConfig, "orpose_privacy_filter.yaml"),
    "orpose_zone_monitor": (ZoneMonitorConfig, "orpose_zone_monitor.yaml"),
}


def readme_markers(node: str) -> tuple[str, str]:
    """The comments around ``node``'s parameter table in README.md."""
    return f"<!-- parameters of {node}: written by python -m orpose_ros.ros.parameter_docs -->", \
        f"<!-- end of the parameters of {node} -->"


def markdown(node: str) -> str:
    """The README table of ``node``'s parameters."""
    return ParameterSet(NODES[node][0]).markdown_table()


def yaml_file(node: str) -> str:
    """The shipped parameter file of ``node``: every parameter with its default, described in comments."""
    config, file_name = NODES[node]
    return (f"# Parameters of {node}, with their defaults (README.md lists them too).\n"
            f"# Written by `python -m orpose_ros.ros.parameter_docs yaml {node} > config/{file_name}`; pass "
            "your own with params_file:=...\n"
            "/**:\n  ros__parameters:\n" + ParameterSet(config).yaml_body() + "\n")


def main(argv: list[str] | None = None) -> int:
    """Print a node's README parameter table (markdown) or its shipped parameter file (yaml)."""
    parser = argparse.ArgumentParser(prog="python -m orpose_ros.ros.parameter_docs", description=main.__doc__)
    parser.add_argument("what", choices=("markdown", "yaml"))
    parser.add_argument("node", choices=tuple(NODES), nargs="?", default="orpose_node")
    args = parser.parse_args(argv)
    sys.stdout.write(markdown(args.node) + "\n" if args.what == "markdown" else yaml_file(args.node))
    return 0


if __name__ == "__main__":
    sys.exit(main())
