"""The environment made by scripts/setup.sh: pins hold, both ROS packages are found and build."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from conftest import REPO
from packaging.version import Version

from orpose_ros.ros.processes import ros_child_env

pytestmark = pytest.mark.ros


def test_one_fresh_interpreter_imports_the_whole_stack() -> None:
    code = "import rclpy, orpose_msgs.msg, orpose_ros, detectron2, torch, cv_bridge, cv2, numpy"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr


def test_pinned_versions_that_the_stack_depends_on() -> None:
    assert Version(version("numpy")) >= Version("2.0")
    assert Version(version("numpy")) < Version("2.3")
    assert Version(version("opencv-python-headless")).major == 4
    assert Version(version("setuptools")) < Version("80")
    assert version("torch").startswith("2.13.0")
    assert not version("torch").endswith("+cpu")
    assert version("pb1-detectron2") == "0.6"


def test_colcon_finds_both_packages_with_the_documented_invocation() -> None:
    result = subprocess.run(
        ["colcon", "list", "--base-paths", str(REPO), str(REPO / "orpose_msgs")],
        capture_output=True, text=True, timeout=120, check=True,
    )
    found = {line.split("\t")[0]: line.split("\t")[2] for line in result.stdout.splitlines()}
    assert found == {"orpose_msgs": "(ros.ament_cmake)", "orpose_ros": "(ros.ament_python)"}


@pytest.fixture(scope="module")
def plain_install(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Both packages built from scratch as the README's workspace section does: no --symlink-install."""
    tmp_path = tmp_path_factory.mktemp("workspace")
    result = subprocess.run(
        ["colcon", "--log-base", str(tmp_path / "log"), "build",
         "--base-paths", str(REPO), str(REPO / "orpose_msgs"),
         "--build-base", str(tmp_path / "build"), "--install-base", str(tmp_path / "install"),
         "--cmake-args", "-DBUILD_TESTING=OFF", f"-DPython3_EXECUTABLE={sys.executable}"],
        capture_output=True, text=True, timeout=600, cwd=tmp_path,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    return tmp_path / "install"


def test_colcon_builds_both_packages_from_scratch(plain_install: Path) -> None:
    install = plain_install
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


@pytest.mark.timeout(300)
def test_the_plain_install_runs_the_demo_away_from_the_source_tree(plain_install: Path, stats_path: Path,
                                                                     tmp_path: Path) -> None:
    """Installed code finds its data in the share directory: nothing may come from the source tree."""
    venv = Path(sys.prefix)
    script = (
        f". {venv}/bin/activate && export AMENT_PREFIX_PATH={venv} && "
        f". {plain_install}/local_setup.bash && cd {tmp_path} && "
        "python -c 'import orpose_ros; print(orpose_ros.__file__)' && "
        f"{plain_install}/orpose_ros/lib/orpose_ros/orpose_demo --random-weights 0 --stats {stats_path} "
        "--device cpu --rate 1 --count 1 --duration 200 --downsample 8"
    )
    env = ros_child_env({"HOME": str(Path.home()), "PATH": "/usr/bin:/bin"}, log_dir=tmp_path / "ros_log",
                        dds_profile=None)
    result = subprocess.run(["bash", "-c", script], env=env, capture_output=True, text=True, timeout=260)
    output = result.stdout + result.stderr
    assert result.returncode == 0, output[-4000:]
    assert output.splitlines()[0].startswith(str(plain_install)), output[:500]  # not the source tree
    assert re.search(r"^/camera/image_raw \[camera_0_optical_frame\] 640x480 x8: \d+ person", result.stdout, re.M)
    assert "Failed to parse global arguments" not in output



def _suffix(distro: str) -> str:
    """The suffix of a distribution's build/ and install/ folders (scripts/setup.sh)."""
    return "-jazzy" if distro == "jazzy" else ""


def test_sourcing_the_other_distribution_first_leaves_none_of_its_paths() -> None:
    """`. scripts/env.sh` after the other distribution's (one shell, Kilted then Jazzy or back) drops the
    first one's paths: its message libraries would otherwise be loaded by this one's rclpy."""
    this = os.environ.get("ORPOSE_ROS_DISTRO", "kilted")
    other = "kilted" if this == "jazzy" else "jazzy"
    other_venv = REPO / f".venv{_suffix(other)}"
    if not (other_venv / "bin" / "python").exists() or not (REPO / f"install{_suffix(other)}").is_dir():
        pytest.skip(f"the {other} environment is not built in this clone (CI builds it for the Jazzy pass)")
    script = (
        f"ORPOSE_ROS_DISTRO={other} . scripts/env.sh && ORPOSE_ROS_DISTRO={this} . scripts/env.sh && "
        "python -c 'import json, os, orpose_msgs.msg; print(orpose_msgs.msg.__file__); "
        "print(json.dumps(dict(os.environ)))'"
    )
    result = subprocess.run(["bash", "-c", script], cwd=REPO, capture_output=True, text=True, timeout=120,
                            env={"HOME": str(Path.home()), "PATH": "/usr/bin:/bin"})
    assert result.returncode == 0, result.stderr[-2000:]
    module, environment = result.stdout.splitlines()[:2]
    assert module.startswith(str(REPO / f"install{_suffix(this)}")), module
    stale = [str(other_venv.resolve()), str(REPO / f"install{_suffix(other)}"), str(REPO / f"build{_suffix(other)}")]
    env = json.loads(environment)
    for name in ("PATH", "LD_LIBRARY_PATH", "PYTHONPATH", "AMENT_PREFIX_PATH", "CMAKE_PREFIX_PATH"):
        entries = env.get(name, "").split(":")
        assert not [e for e in entries if any(e == s or e.startswith(s + "/") for s in stale)], (name, env.get(name))
