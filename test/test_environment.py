"""The environment made by scripts/setup.sh: pins hold, both ROS packages are found and build."""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

from conftest import REPO
from packaging.version import Version


def test_one_fresh_interpreter_imports_the_whole_stack() -> None:
    code = "import rclpy, orpose_msgs.msg, orpose_ros, detectron2, torch, cv_bridge, cv2, numpy"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_pinned_versions_that_the_stack_depends_on() -> None:
    assert Version(version("numpy")) >= Version("2.0") and Version(version("numpy")) < Version("2.3")
    assert Version(version("opencv-python-headless")).major == 4
    assert Version(version("setuptools")) < Version("80")
    assert version("torch").startswith("2.13.0") and not version("torch").endswith("+cpu")
    assert version("pb1-detectron2") == "0.6"


def test_colcon_finds_both_packages_with_the_documented_invocation() -> None:
    result = subprocess.run(
        ["colcon", "list", "--base-paths", str(REPO), str(REPO / "orpose_msgs")],
        capture_output=True, text=True, timeout=120, check=True,
    )
    found = {line.split("\t")[0]: line.split("\t")[2] for line in result.stdout.splitlines()}
    assert found == {"orpose_msgs": "(ros.ament_cmake)", "orpose_ros": "(ros.ament_python)"}


def test_colcon_builds_both_packages_from_scratch(tmp_path: Path) -> None:
    result = subprocess.run(
        ["colcon", "--log-base", str(tmp_path / "log"), "build",
         "--base-paths", str(REPO), str(REPO / "orpose_msgs"),
         "--build-base", str(tmp_path / "build"), "--install-base", str(tmp_path / "install"),
         "--cmake-args", "-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={sys.executable}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    install = tmp_path / "install"
    site = f"lib/python{sys.version_info.major}.{sys.version_info.minor}/site-packages"
    expected = [
        install / "orpose_msgs" / site / "orpose_msgs" / "msg" / "_person_pose_array.py",
        install / "orpose_msgs" / "share" / "orpose_msgs" / "msg" / "PersonPose.msg",
        install / "orpose_ros" / "lib" / "orpose_ros" / "orpose_node",
        install / "orpose_ros" / "share" / "orpose_ros" / "package.xml",
        install / "orpose_ros" / "share" / "orpose_ros" / "launch" / "orpose.launch.py",
        install / "orpose_ros" / "share" / "orpose_ros" / "config" / "orpose.yaml",
        install / "orpose_ros" / "share" / "ament_index" / "resource_index" / "packages" / "orpose_ros",
    ]
    missing = [str(p.relative_to(install)) for p in expected if not p.exists()]
    assert not missing, f"not installed: {missing}"
    assert list((install / "orpose_msgs" / "lib").glob("liborpose_msgs__rosidl_typesupport_fastrtps_c.so"))
