"""Ctrl-C as users send it: every node exits 0 within launch's 5 s grace however many SIGINTs arrive,
at any moment (being built, idle, mid-inference, during its own shutdown), and through a parent that
forwards them as ``ros2 launch`` does. Real processes, real DDS, real signals."""

from __future__ import annotations

import importlib
import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from conftest import REPO
from ros_tools.node_harness import NodePeer

from orpose_ros.ros import processes
from orpose_ros.ros.entry_point import NODE_MODULES, SIGINT_GRACE_S
from orpose_ros.ros.processes import ProcessGroup, node_command, wait_until

pytestmark = [pytest.mark.ros, pytest.mark.timeout(600)]

CALIBRATION = REPO / "config" / "cameras.example.yaml"
FORWARDING_PARENT = Path(__file__).parent / "ros_tools" / "forwarding_parent.py"
START_S = 180.0  # a cold start of orpose_node on a loaded 2-core machine


def _pose_node(stats_path: Path, topics: list[str]) -> list[str]:
    return node_command("orpose_ros.ros.node", {"random_weights_seed": 0, "stats": stats_path, "device": "cpu",
                                                "downsample_factor": 12, "image_topics": topics})


def _fusion_node() -> list[str]:
    return node_command("orpose_ros.ros.fusion_node", {"calibration": CALIBRATION})


def _privacy_filter() -> list[str]:
    return node_command("orpose_ros.ros.privacy_filter_node", {"image_topics": ["/pf/image_raw"]})


def _room_demo() -> list[str]:
    return node_command("orpose_ros.ros.room_demo", {"calibration": CALIBRATION})


def _interrupt(process: subprocess.Popen, delays_s: tuple[float, ...]) -> tuple[int, float, list[bool]]:
    """SIGINT now and after each delay [s]; (exit code, seconds from the first SIGINT, whether the process
    was still running when each later SIGINT was sent)."""
    started = time.monotonic()
    process.send_signal(signal.SIGINT)
    alive = []
    for delay in delays_s:
        time.sleep(delay)
        alive.append(process.poll() is None)
        if alive[-1]:
            process.send_signal(signal.SIGINT)
    code = process.wait(30)
    return code, time.monotonic() - started, alive


def _assert_clean(code: int, seconds: float, log: str) -> None:
    assert code == 0, (code, seconds, log[-3000:])
    assert seconds < SIGINT_GRACE_S, (code, seconds, log[-3000:])
    assert "Traceback" not in log, log[-3000:]
    assert "terminate called" not in log, log[-3000:]


@pytest.mark.parametrize("delays_s", [(0.02,), (0.02, 0.03)], ids=["twice", "three_times"])
def test_pose_node_idle_survives_sigints_during_its_own_shutdown(tmp_path: Path, ros_env: dict, stats_path: Path,
                                                                 delays_s: tuple[float, ...]) -> None:
    with ProcessGroup(ros_env, tmp_path) as group:
        node = group.start("node", _pose_node(stats_path, ["/idle/image_raw"]))
        assert wait_until(lambda: "ready:" in group.log("node"), START_S), group.log("node")
        code, seconds, alive = _interrupt(node, delays_s)
        assert alive[0], "the second SIGINT must reach the node while it stops"
        _assert_clean(code, seconds, group.log("node"))


def test_pose_node_mid_inference_survives_three_sigints(tmp_path: Path, ros_env: dict, stats_path: Path) -> None:
    topics = [f"/busy{i}/image_raw" for i in range(2)]
    with ProcessGroup(ros_env, tmp_path) as group:
        node = group.start("node", _pose_node(stats_path, topics))
        for i, topic in enumerate(topics):
            group.start(f"camera_{i}", [sys.executable, "-m", "orpose_ros.ros.camera_replay", "--topic", topic,
                                        "--rate", "5"])
        peer = NodePeer(ros_env, {})
        try:
            # frames arrive at 5 Hz and a batch takes seconds: once poses come, the next forward is running
            assert wait_until(lambda: peer.inbox.poses, START_S + 60), group.log("node")[-3000:]
            code, seconds, alive = _interrupt(node, (0.05, 0.5))
        finally:
            peer.close()
        assert alive[0]
        _assert_clean(code, seconds, group.log("node"))


def test_pose_node_being_built_survives_two_sigints(tmp_path: Path, ros_env: dict, stats_path: Path) -> None:
    with ProcessGroup(ros_env, tmp_path) as group:
        node = group.start("node", _pose_node(stats_path, ["/early/image_raw"]))
        # the random-weights warning comes first, then seconds of model building before "ready:"
        assert wait_until(lambda: "RANDOM WEIGHTS" in group.log("node"), START_S, interval=0.01), group.log("node")
        code, seconds, _ = _interrupt(node, (0.05,))
        log = group.log("node")
        assert "ready:" not in log, "the node must be stopped while it is being built"
        _assert_clean(code, seconds, log)


def test_pose_node_still_importing_its_modules_survives_two_sigints(tmp_path: Path, ros_env: dict,
                                                                   stats_path: Path) -> None:
    """Importing torch and detectron2 takes a second or more here; a Ctrl-C then is a clean stop too."""
    with ProcessGroup(ros_env, tmp_path) as group:
        node = group.start("node", _pose_node(stats_path, ["/imports/image_raw"]))
        # the moment to interrupt: torch's libraries are being mapped, so the node module's imports have begun
        # (the entry point handles SIGINT before them; the interpreter's own start is not ours to handle)
        maps = Path(f"/proc/{node.pid}/maps")
        assert wait_until(lambda: node.poll() is not None or "libtorch" in maps.read_text(), 60, interval=0.01)
        assert "ready:" not in group.log("node")
        code, seconds, _ = _interrupt(node, (0.05,))
        _assert_clean(code, seconds, group.log("node"))


def test_node_console_scripts_start_through_the_interrupt_safe_entry_point() -> None:
    setup = (REPO / "setup.py").read_text()
    for script, module in NODE_MODULES.items():
        assert f'"{script} = orpose_ros.ros.entry_point:{script}"' in setup, script
        assert callable(importlib.import_module(module).main)
    assert node_command("orpose_ros.ros.node")[1:4] == ["-m", "orpose_ros.ros.entry_point", "orpose_ros.ros.node"]


@pytest.mark.parametrize("make_command", [_fusion_node, _privacy_filter, _room_demo],
                         ids=["fusion_node", "privacy_filter", "room_demo"])
@pytest.mark.parametrize("delay_s", [0.0, 0.02, 0.1])
def test_light_nodes_survive_a_second_sigint_at_any_delay(tmp_path: Path, ros_env: dict, make_command,
                                                          delay_s: float) -> None:
    with ProcessGroup(ros_env, tmp_path) as group:
        node = group.start("node", make_command())
        assert wait_until(lambda: "ready" in group.log("node") or node.poll() is not None, 60), group.log("node")
        code, seconds, _ = _interrupt(node, (delay_s,))
        _assert_clean(code, seconds, group.log("node"))


def test_ctrl_c_twice_in_a_terminal_stops_every_node_cleanly(tmp_path: Path, ros_env: dict, stats_path: Path) -> None:
    """Each Ctrl-C signals the whole process group (parent and nodes); the parent forwards the first."""
    commands = [_pose_node(stats_path, ["/ceiling_left/image_raw"]), _fusion_node(), _privacy_filter()]
    log = tmp_path / "parent.log"
    with log.open("w") as out:
        parent = subprocess.Popen([sys.executable, str(FORWARDING_PARENT), json.dumps(commands)], env=ros_env,
                                  stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        ready = ("orpose_node]: ready:", "orpose_fusion_node]: ready:", "orpose_privacy_filter]: ready")
        assert wait_until(lambda: all(word in log.read_text() for word in ready), START_S), log.read_text()
        os.killpg(parent.pid, signal.SIGINT)
        time.sleep(0.3)
        os.killpg(parent.pid, signal.SIGINT)
        assert parent.wait(30) == 0, log.read_text()[-4000:]
    finally:
        if parent.poll() is None:
            os.killpg(parent.pid, signal.SIGKILL)
    text = log.read_text()
    results = [json.loads(line) for line in text.splitlines() if line.startswith('{"index"')]
    assert [r["returncode"] for r in results] == [0, 0, 0], text[-4000:]
    assert all(r["seconds"] < SIGINT_GRACE_S for r in results), results
    assert "Traceback" not in text, text[-4000:]
    assert "terminate called" not in text, text[-4000:]


def test_sigusr1_prints_every_threads_stack_and_the_node_runs_on(tmp_path: Path, ros_env: dict) -> None:
    with ProcessGroup(ros_env, tmp_path) as group:
        node = group.start("node", _fusion_node())
        assert wait_until(lambda: "ready" in group.log("node") or node.poll() is not None, 60), group.log("node")
        assert "most recent call first" not in group.log("node")
        node.send_signal(signal.SIGUSR1)
        assert wait_until(lambda: "most recent call first" in group.log("node"), 10), group.log("node")
        time.sleep(0.5)
        assert node.poll() is None, group.log("node")
        assert "executors.py" in group.log("node")  # the main thread waits in rclpy's spin
        code, seconds, _ = _interrupt(node, ())
        _assert_clean(code, seconds, group.log("node"))


# A child that ignores SIGINT, as a hung node would; with faulthandler it prints its stack on SIGUSR1
_STUBBORN = """
import faulthandler, signal, sys, time
signal.signal(signal.SIGINT, signal.SIG_IGN)
if sys.argv[1] == "stacks":
    faulthandler.register(signal.SIGUSR1, all_threads=True)
print("waiting", flush=True)
def stuck_here():
    while True:
        time.sleep(0.05)
stuck_here()
"""


@pytest.mark.parametrize("kind", ["stacks", "plain"])
def test_stop_asks_a_child_that_ignores_sigint_for_its_stacks_then_kills_it(tmp_path: Path, kind: str) -> None:
    log = tmp_path / "child.log"
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, "-c", _STUBBORN, kind], stdout=out, stderr=subprocess.STDOUT)
    assert wait_until(lambda: "waiting" in log.read_text(), 30)
    started = time.monotonic()
    code = processes.stop(child, timeout=1.0)
    took = time.monotonic() - started
    if kind == "stacks":  # it ran on after printing: killed once the stacks had their time
        assert code == -signal.SIGKILL
        assert "in stuck_here" in log.read_text()
        assert 1.0 + processes.STACKS_S <= took < 1.0 + processes.STACKS_S + 5
    else:  # SIGUSR1's default action ends it
        assert code == -signal.SIGUSR1
        assert 1.0 <= took < 1.0 + processes.STACKS_S


# A node without timers whose context is shut down the way rclpy's signal thread does it last (no on_shutdown
# callback, nothing wakes the executor): the race behind a lifecycle node that waited for ever on one SIGINT.
_SHUT_DOWN_QUIETLY = """
import sys, threading, time
import rclpy
from rclpy.node import Node
from orpose_ros.ros.entry_point import run_node

spinning = threading.Event()

def shut_down_quietly():
    spinning.wait()
    time.sleep(0.3)  # the executor waits again: its only timer is cancelled
    context = rclpy.get_default_context()
    with context.handle:
        context.handle.shutdown()
    print("shut down", flush=True)

def make_node():
    node = Node("quiet_node")
    def once():
        timer.cancel()
        spinning.set()
    timer = node.create_timer(0.1, once)
    threading.Thread(target=shut_down_quietly, daemon=True).start()
    return node

sys.exit(run_node("quiet_node", make_node, ()))
"""


def test_a_node_with_nothing_to_wake_it_still_ends_when_ros_is_shut_down(tmp_path: Path, ros_env: dict) -> None:
    log = tmp_path / "quiet.log"
    with log.open("w") as out:
        child = subprocess.Popen([sys.executable, "-c", _SHUT_DOWN_QUIETLY], env=ros_env, stdout=out,
                                 stderr=subprocess.STDOUT)
    try:
        assert wait_until(lambda: "shut down" in log.read_text() or child.poll() is not None, 60), log.read_text()
        started = time.monotonic()
        assert child.wait(10) == 0, log.read_text()
        assert time.monotonic() - started < SIGINT_GRACE_S
    finally:
        processes.stop(child)


# A parent that starts a node module through the entry point, says the child's pid, and waits to be killed.
_PARENT = """
import subprocess, sys, time
child = subprocess.Popen([sys.executable, "-m", "orpose_ros.ros.entry_point", "waiting_node"])
print(child.pid, flush=True)
time.sleep(600)
"""
_WAITING_NODE = """
import time
from pathlib import Path

def main():
    Path("started").write_text("yes")
    time.sleep(600)
    return 0
"""


def _running(pid: int) -> bool:
    """Whether ``pid`` is a live process (an unreaped zombie is not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except (FileNotFoundError, ProcessLookupError):
        return False


@pytest.mark.parametrize("setting", ["1", "0", "yes"])
def test_a_node_ends_with_the_process_that_started_it_only_when_asked(tmp_path: Path, setting: str) -> None:
    (tmp_path / "waiting_node.py").write_text(_WAITING_NODE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           processes.EXIT_WITH_PARENT: setting}
    log = tmp_path / "parent.log"
    with log.open("w") as out:
        parent = subprocess.Popen([sys.executable, "-c", _PARENT], env=env, cwd=tmp_path, stdout=out,
                                  stderr=subprocess.STDOUT)
    child = None
    try:
        assert wait_until(lambda: (tmp_path / "started").exists(), 60), log.read_text()
        child = int(log.read_text().split()[0])
        parent.kill()
        parent.wait()
        if setting == "1":  # SIGTERM from the kernel as its parent died
            assert wait_until(lambda: not _running(child), 10), log.read_text()
        else:
            assert not wait_until(lambda: not _running(child), 3)
            assert ("is neither 0 nor 1" in log.read_text()) == (setting == "yes")
    finally:
        processes.stop(parent)
        if child is not None and _running(child):
            os.kill(child, signal.SIGKILL)


def test_the_children_of_a_process_group_end_with_it() -> None:
    assert processes.ros_child_env({})[processes.EXIT_WITH_PARENT] == "1"
    assert processes.ros_child_env({}, exit_with_parent=False)[processes.EXIT_WITH_PARENT] == "0"


def test_a_node_whose_parent_is_gone_before_it_starts_does_not_start(tmp_path: Path) -> None:
    (tmp_path / "waiting_node.py").write_text(_WAITING_NODE)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(tmp_path), os.environ.get("PYTHONPATH", "")]),
           processes.EXIT_WITH_PARENT: "1"}
    late = ("import os, time; print(os.getpid(), flush=True); time.sleep(2); "
            "from orpose_ros.ros.entry_point import console_main; raise SystemExit(console_main('waiting_node'))")
    log = tmp_path / "orphan.log"
    # the shell starts the node in the background and exits at once: the node is adopted before its request
    subprocess.run(["sh", "-c", f'"{sys.executable}" -c "{late}" > "{log}" 2>&1 &'], env=env, cwd=tmp_path, check=True)
    assert wait_until(lambda: log.exists() and log.read_text().strip() != "", 30)
    orphan = int(log.read_text().split()[0])
    try:
        adopter = int(Path(f"/proc/{orphan}/stat").read_text().rsplit(")", 1)[1].split()[1])
        if adopter != 1:
            pytest.skip(f"orphans are adopted by pid {adopter} (a subreaper) here, not by init")
        assert wait_until(lambda: not _running(orphan), 30), log.read_text()
        assert "is gone: not starting" in log.read_text()
        assert not (tmp_path / "started").exists()
    finally:
        if _running(orphan):
            os.kill(orphan, signal.SIGKILL)
