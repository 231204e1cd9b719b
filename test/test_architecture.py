"""The package's layers, read from its imports (every import statement, also those inside functions):
no cycles, and no import from a lower layer to a higher one (docs/architecture.md)."""

from __future__ import annotations

import ast
import graphlib
from collections.abc import Iterator
from pathlib import Path

import pytest
from conftest import REPO

PACKAGE = REPO / "orpose_ros"
#: Modules that drive processes, demos and tests: no node imports them.
HARNESS = {"orpose_ros.ros.demo", "orpose_ros.ros.camera_replay", "orpose_ros.ros.processes",
           "orpose_ros.ros.background_node"}
ROS_MODULES = ("rclpy", "rcl_interfaces", "builtin_interfaces", "std_msgs", "sensor_msgs", "geometry_msgs",
               "visualization_msgs", "diagnostic_msgs", "lifecycle_msgs", "tf2_msgs", "orpose_msgs",
               "ament_index_python", "launch", "launch_ros", "cv_bridge")


def _module_name(path: Path) -> str:
    parts = path.relative_to(REPO).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _imports(path: Path, module: str) -> tuple[set[str], set[str]]:
    """The modules ``path`` imports, absolute, with relative imports resolved: those that must exist, and
    those that may be modules (``from package import name``: a module or a name)."""
    package = module if path.name == "__init__.py" else module.rpartition(".")[0]
    required, maybe = set(), set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            required.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                anchor = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*anchor, base] if base else anchor)
            required.add(base)
            maybe.update(f"{base}.{alias.name}" for alias in node.names)
    return required, maybe


MODULES = {_module_name(p): p for p in PACKAGE.rglob("*.py")}


@pytest.fixture(scope="module")
def graph() -> dict[str, set[str]]:
    """module -> the modules it imports (ours by full name; others by their top-level name)."""
    graph: dict[str, set[str]] = {module: set() for module in MODULES}
    for module, path in MODULES.items():
        required, maybe = _imports(path, module)
        for target in required | maybe:
            if target in MODULES:
                graph[module].add(target)
            elif not target.startswith("orpose_ros"):
                graph[module].add(target.split(".")[0])
    return graph


def test_every_module_of_ours_that_is_imported_exists() -> None:
    """Also the imports inside functions, which a test run may never reach."""
    missing = {(module, target) for module, path in MODULES.items() for target in _imports(path, module)[0]
               if target.startswith("orpose_ros") and target not in MODULES}
    assert missing == set()


def _edges(graph: dict[str, set[str]]) -> Iterator[tuple[str, str]]:
    return ((m, t) for m, targets in graph.items() for t in targets)


def _importers(graph: dict[str, set[str]], target: str) -> set[str]:
    return {m for m, t in _edges(graph) if t == target or t.startswith(f"{target}.")}


def test_the_graph_sees_the_imports_it_should(graph: dict[str, set[str]]) -> None:
    """Guards the reader: known imports of each kind are found (top level, inside a function, relative)."""
    assert "rclpy" in graph["orpose_ros.ros.node"]
    assert "orpose_ros.camera_pipeline" in graph["orpose_ros.ros.node"]
    assert "orpose_ros.model" in graph["orpose_ros.backends.factory"]  # inside a function
    assert "orpose_ros.model.checkpoint" in graph["orpose_ros.model.predictor"]  # relative


def test_no_import_cycles(graph: dict[str, set[str]]) -> None:
    """A package's __init__ that re-exports its modules is its public surface, not a step of a cycle."""
    ours = {m: {t for t in targets if t in graph and t != m and not _inside(m, t)} for m, targets in graph.items()}
    try:
        graphlib.TopologicalSorter(ours).prepare()
    except graphlib.CycleError as error:
        pytest.fail(f"import cycle: {' -> '.join(error.args[1])}")


def _inside(module: str, package: str) -> bool:
    """Whether ``package`` is a package that holds ``module`` (or the reverse)."""
    return module.startswith(f"{package}.") or package.startswith(f"{module}.")


def test_ros_types_stay_in_the_ros_layer(graph: dict[str, set[str]]) -> None:
    """Only ros/ (and the tools that drive ROS: cli's bag commands, bench) touch ROS; the core never does."""
    allowed = ("orpose_ros.ros", "orpose_ros.cli", "orpose_ros.bench")
    offenders = {(m, t) for m, t in _edges(graph) if t in ROS_MODULES or t.startswith("orpose_ros.ros")}
    assert {(m, t) for m, t in offenders if not m.startswith(allowed)} == set()


def test_no_layer_imports_a_higher_one(graph: dict[str, set[str]]) -> None:
    assert {m for m in _importers(graph, "orpose_ros.cli") if m.startswith("orpose_ros.ros")} == set()
    assert {m for m in _importers(graph, "orpose_ros.bench") if not m.startswith("orpose_ros.bench")} == set()
    nodes = [m for m in graph if m.startswith("orpose_ros.ros") and m not in HARNESS]
    assert {(m, t) for m in nodes for t in graph[m] if t in HARNESS} == set()


def test_the_benchmark_uses_the_models_public_surface(graph: dict[str, set[str]]) -> None:
    """bench/ builds what it measures through orpose_ros.model's and orpose_ros.backends' public names, and
    the exporter; no network internals (config, heads, checkpoint loading, random weights)."""
    allowed = {"orpose_ros.model", "orpose_ros.model.export", "orpose_ros.model.predictor"}
    reached = {t for m in graph if m.startswith("orpose_ros.bench") for t in graph[m]
               if t == "orpose_ros.model" or t.startswith("orpose_ros.model.")}
    assert reached <= allowed, reached - allowed


def test_only_the_model_imports_detectron2_and_torch_stays_out_of_the_core(graph: dict[str, set[str]]) -> None:
    assert {m for m in _importers(graph, "detectron2") if not m.startswith("orpose_ros.model")} == set()
    torch_free = ("orpose_ros.privacy", "orpose_ros.poses", "orpose_ros.camera_pipeline", "orpose_ros.geometry",
                  "orpose_ros.fusion", "orpose_ros.backends.protocol", "orpose_ros.topics")
    assert {m for m in _importers(graph, "torch") if m.startswith(torch_free)} == set()
