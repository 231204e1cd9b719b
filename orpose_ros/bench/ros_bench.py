"""End-to-end benchmark through ROS 2: camera replays -> orpose_node -> a probe, all separate processes.

For each setup (N cameras at R Hz, with or without the shipped Fast DDS profile) this module starts
the node, a probe (this module run as ``python -m orpose_ros.bench.ros_bench --probe ...``) that
records every ``/orpose/poses`` message with its receipt time and the node's ``/diagnostics``, then
one ``camera_replay`` process per camera publishing a known number of frames. Once the node has
served every frame it took, everything is stopped (SIGINT, then kill) and the setup is summarised:
latency from the image header stamp to the receipt of its poses, poses/s per camera, frames lost
before the node (DDS, discovery) and frames the node dropped (newest-frame policy).

Every process gets the environment of `processes.ros_child_env`: loopback discovery, the run's own
random ROS_DOMAIN_ID and a ROS_LOG_DIR in the run's folder.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from orpose_ros.ros import processes
from orpose_ros.ros.dds import shipped_profile
from orpose_ros.ros.processes import ProcessGroup, wait_until

from .report import latency_summary

logger = logging.getLogger(__name__)

POSES_TOPIC = "/orpose/poses"
DIAGNOSTICS_TOPIC = "/diagnostics"
#: The CPU goal of the issue: the node adds at most this much over the model's own time.
OVERHEAD_GOAL_PCT = 3.0


# ------------------------------------------------------------------------------------------
# Processes


# ------------------------------------------------------------------------------------------
# Options and commands


@dataclass(frozen=True)
class Setup:
    """One end-to-end run: ``cameras`` replays at ``rate_hz`` for ``duration_s`` under one DDS mode."""

    cameras: int
    rate_hz: float
    duration_s: float
    dds_mode: str

    @property
    def name(self) -> str:
        return f"{self.cameras}cam_{self.rate_hz:g}Hz_{self.dds_mode}"


@dataclass(frozen=True)
class RosBenchOptions:
    """What the end-to-end benchmark runs.

    Attributes:
        cameras: camera counts, one setup each (times each DDS mode).
        rate_hz: publishing rate of every camera.
        duration_s: publishing time of every setup (frames per camera = rate x duration).
        dds_modes: "shipped" (config/fastdds_shm.xml) and/or "default" (Fast DDS defaults).
        source: camera_replay source: a folder of images, a video, or "synthetic".
        size: (width, height) of the published frames.
        weights / random_weights_seed / stats / device / fp16 / downsample_factor: the node's model.
        qos_reliability: image QoS of the replays and of the node ("best_effort" or "reliable").
        publish_markers, publish_debug_image: the node's outputs besides the poses (product defaults: on).
        transport_rate_hz: when > 0, extra setups with the most cameras at this rate for
            ``transport_duration_s``, in every DDS mode: frames far faster than the CPU model serves,
            to measure what the transport loses before the node (the shipped profile's purpose).
        startup_timeout_s: how long the node may take to load the model.
        drain_timeout_s: how long to wait, after the last frame, for the node to serve what it took.
    """

    cameras: tuple[int, ...] = (1, 3)
    rate_hz: float = 0.5
    duration_s: float = 20.0
    dds_modes: tuple[str, ...] = ("shipped", "default")
    source: str = "synthetic"
    size: tuple[int, int] = (640, 480)
    weights: Path | None = None
    random_weights_seed: int | None = 0
    stats: Path | None = None
    device: str = "cpu"
    fp16: bool = False
    downsample_factor: int = 1
    qos_reliability: str = "best_effort"
    publish_markers: bool = True
    publish_debug_image: bool = True
    transport_rate_hz: float = 0.0
    transport_duration_s: float = 10.0
    startup_timeout_s: float = 180.0
    drain_timeout_s: float = 90.0
    extra_node_params: dict = field(default_factory=dict)


def node_command(options: RosBenchOptions, topics: Sequence[str]) -> list[str]:
    """``python -m orpose_ros.ros.node --ros-args -p ...`` for one setup."""
    params: dict[str, object] = {
        "image_topics": list(topics),
        "device": options.device,
        "fp16": options.fp16,
        "downsample_factor": options.downsample_factor,
        "qos_reliability": options.qos_reliability,
        "publish_markers": options.publish_markers,
        "publish_debug_image": options.publish_debug_image,
        **processes.model_parameters(options.weights, options.random_weights_seed, options.stats),
    }
    params.update(options.extra_node_params)
    return processes.node_command("orpose_ros.ros.node", params)


def replay_command(options: RosBenchOptions, topic: str, index: int, count: int, rate_hz: float) -> list[str]:
    """``python -m orpose_ros.ros.camera_replay ...`` publishing ``count`` frames on ``topic``."""
    source = options.source if options.source == "synthetic" else str(Path(options.source).resolve())
    command = [sys.executable, "-m", "orpose_ros.ros.camera_replay", "--source", source, "--topic", topic,
               "--rate", f"{rate_hz:g}", "--size", f"{options.size[0]}x{options.size[1]}",
               "--count", str(count), "--frame-id", f"bench_camera_{index}"]
    if options.qos_reliability == "reliable":
        command.append("--reliable")
    return command


# ------------------------------------------------------------------------------------------
# One setup


def _read_probe(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except (FileNotFoundError, json.JSONDecodeError):
        return {}


def _drained(probe: dict, topics: Sequence[str], after_ns: int) -> bool:
    """True once a diagnostics message sent after ``after_ns`` shows that every frame the node took
    (received - dropped - rejected) has its poses at the probe."""
    diag = probe.get("diagnostics", {})
    if probe.get("diagnostics_recv_ns", 0) < after_ns or not all(t in diag for t in topics):
        return False
    served = {t: 0 for t in topics}
    for topic, *_ in probe.get("poses", []):
        if topic in served:
            served[topic] += 1
    return all(served[t] >= diag[t]["received"] - diag[t]["dropped"] - diag[t]["rejected"] for t in topics)


def run_setup(options: RosBenchOptions, setup: Setup, work_dir: Path) -> dict:
    """Run one end-to-end setup with real processes and summarise it (see `summarize_setup`)."""
    profile = shipped_profile() if setup.dds_mode == "shipped" else None
    name = setup.name
    run_dir = work_dir / name
    run_dir.mkdir(parents=True, exist_ok=True)
    env = processes.ros_child_env(log_dir=run_dir / "ros_log", dds_profile=profile)
    topics = [f"/bench/camera_{i}/image_raw" for i in range(setup.cameras)]
    count = max(1, round(setup.rate_hz * setup.duration_s))
    probe_file = (run_dir / "probe.json").resolve()  # the probe runs in its log folder: no relative path
    logger.info("ROS setup %s: domain %s, %d frame(s) per camera, logs in %s",
                name, env["ROS_DOMAIN_ID"], count, run_dir)
    with ProcessGroup(env, run_dir) as group:
        node = group.start("node", node_command(options, topics))
        probe = group.start("probe", [sys.executable, "-m", "orpose_ros.bench.ros_bench", "--probe",
                                      "--out", str(probe_file), *topics])
        ready = wait_until(lambda: node.poll() is not None or probe.poll() is not None
                           or bool(_read_probe(probe_file).get("diagnostics")), options.startup_timeout_s)
        if node.poll() is not None or probe.poll() is not None or not ready:
            raise RuntimeError(f"setup {name}: the node did not come up (node exit {node.poll()}, probe exit "
                               f"{probe.poll()}); node log:\n{group.log_tail('node')}\nprobe log:\n"
                               f"{group.log_tail('probe')}")
        started_ns = time.time_ns()
        replays = [group.start(f"replay_{i}", replay_command(options, t, i, count, setup.rate_hz))
                   for i, t in enumerate(topics)]
        publish_timeout = setup.duration_s + 60.0
        if not wait_until(lambda: all(r.poll() is not None for r in replays), publish_timeout, interval=0.5):
            logger.warning("setup %s: replays still running after %.0f s", name, publish_timeout)
        published_ns = time.time_ns()
        replay_codes = [processes.stop(r) for r in replays]
        if not wait_until(lambda: _drained(_read_probe(probe_file), topics, published_ns + 1_000_000_000),
                          options.drain_timeout_s, interval=0.5):
            logger.warning("setup %s: the node did not serve every frame it took within %.0f s",
                           name, options.drain_timeout_s)
        processes.stop(probe)
        processes.stop(node)
    data = _read_probe(probe_file)
    if any(code != 0 for code in replay_codes):
        logger.warning("setup %s: camera_replay exit codes %s (published counts may be short)", name, replay_codes)
    return summarize_setup(setup, data, topics, count, options, profile, (published_ns - started_ns) / 1e9)


def summarize_setup(setup: Setup, probe: dict, topics: Sequence[str], published_per_camera: int,
                    options: RosBenchOptions, profile: Path | None, publish_s: float) -> dict:
    """Latency, throughput, drops (and for one camera the node overhead) of one setup's probe record."""
    poses = probe.get("poses", [])
    diag = probe.get("diagnostics", {})
    model = probe.get("model", {})
    latencies = [(recv - stamp) / 1e6 for _, stamp, recv, _ in poses]
    per_camera = []
    for topic in topics:
        received = sorted(recv for t, _, recv, _ in poses if t == topic)
        if len(received) >= 2:
            per_camera.append((len(received) - 1) / ((received[-1] - received[0]) / 1e9))
        else:
            per_camera.append(len(received) / max(publish_s, 1e-9))
    counters = {key: int(sum(diag.get(t, {}).get(key, 0) for t in topics)) for key in ("received", "dropped",
                                                                                        "rejected")}
    published = published_per_camera * len(topics)
    result = {
        "name": setup.name,
        "cameras": len(topics),
        "rate_hz": setup.rate_hz,
        "duration_s": setup.duration_s,
        "dds": "shipped profile" if profile is not None else "Fast DDS defaults",
        "dds_profile": str(profile) if profile is not None else None,
        "qos_reliability": options.qos_reliability,
        "frame_size": list(options.size),
        "publish_s": publish_s,
        "published": published,
        "node_received": counters["received"],
        "node_dropped": counters["dropped"],
        "node_rejected": counters["rejected"],
        "lost_before_node": published - counters["received"],
        "poses_received": len(poses),
        "delivered_fraction": len(poses) / published if published else float("nan"),
        "persons_per_frame": float(np.mean([p[3] for p in poses])) if poses else float("nan"),
        "latency_ms": latency_summary(latencies),
        "latencies_ms": latencies,
        "poses_per_s_per_camera": per_camera,
        "poses_per_s_total": float(sum(per_camera)),
        "node_input_hz_peak": [probe.get("input_hz_peak", {}).get(t, float("nan")) for t in topics],
        "node_inference_ms_mean": model.get("inference_ms_mean", float("nan")),
        "node_inference_ms_p95": model.get("inference_ms_p95", float("nan")),
        "node_end_to_end_ms_mean": model.get("end_to_end_ms_mean", float("nan")),
    }
    if len(topics) == 1 and poses:
        service = service_times_ms(poses)
        inference = result["node_inference_ms_mean"]
        result["service_ms"] = latency_summary(service)
        result["node_overhead_ms"] = float(np.mean(service)) - inference
        result["node_overhead_pct"] = 100.0 * result["node_overhead_ms"] / inference if inference else float("nan")
    return result


def service_times_ms(poses: Sequence[Sequence]) -> list[float]:
    """Per-frame time the node spent on each frame of ONE camera, without waiting in its store [ms].

    A frame's work starts when it arrives (its stamp) or, when the node was still busy, when the
    previous poses came out, whichever is later; it ends when its poses arrive:
    ``recv_i - max(stamp_i, recv_{i-1})``. This is the end-to-end latency minus queueing; the time
    the node spends after publishing the previous poses (markers, debug image) counts as its own work.
    """
    ordered = sorted(poses, key=lambda p: p[2])
    times, previous = [], None
    for _, stamp, recv, _ in ordered:
        start = stamp if previous is None else max(stamp, previous)
        times.append((recv - start) / 1e6)
        previous = recv
    return times


def run_ros_bench(options: RosBenchOptions, work_dir: Path) -> dict:
    """Every (cameras, DDS mode) setup in turn; returns the JSON-ready ``ros`` section of bench.json."""
    plan = [Setup(c, options.rate_hz, options.duration_s, mode) for c in options.cameras for mode in options.dds_modes]
    if options.transport_rate_hz > 0 and options.transport_rate_hz != options.rate_hz:
        plan += [Setup(max(options.cameras), options.transport_rate_hz, options.transport_duration_s, mode)
                 for mode in options.dds_modes]
    setups = [run_setup(options, setup, work_dir) for setup in plan]
    single = [s for s in setups if s["cameras"] == 1 and "node_overhead_ms" in s]
    single.sort(key=lambda s: (s["dds"] != "shipped profile", s["rate_hz"]))
    overhead = None
    if single:
        s = single[0]
        overhead = {
            "setup": s["name"],
            "service_ms_mean": s["service_ms"]["mean"],
            "model_ms_mean": s["node_inference_ms_mean"],
            "overhead_ms": s["node_overhead_ms"],
            "overhead_pct": s["node_overhead_pct"],
            "goal_pct": OVERHEAD_GOAL_PCT,
            "within_goal": bool(s["node_overhead_pct"] <= OVERHEAD_GOAL_PCT),
        }
    return {
        "device": options.device,
        "source": options.source,
        "node": {"checkpoint": str(options.weights) if options.weights else
                 f"random detecting weights, seed {options.random_weights_seed}",
                 "publish_markers": options.publish_markers, "publish_debug_image": options.publish_debug_image,
                 "downsample_factor": options.downsample_factor, "fp16": options.fp16},
        "setups": setups,
        "overhead": overhead,
    }


# ------------------------------------------------------------------------------------------
# The probe (a child process)


def _diagnostics_values(msg: object) -> tuple[dict[str, dict[str, float]], dict[str, float]]:
    """Per-camera counters and input rate (by topic) and the model's timings from one DiagnosticArray
    of the node."""
    cameras, model = {}, {}
    for status in msg.status:
        values = {kv.key: kv.value for kv in status.values}
        if status.name.endswith(": model"):
            model = {k: float(v) for k, v in values.items()}
        elif "received" in values and status.hardware_id:
            counters = {k: int(float(values[k])) for k in ("received", "dropped", "rejected")}
            cameras[status.hardware_id] = {**counters, "input_hz": float(values.get("input_hz", "nan"))}
    return cameras, model


def probe_main(argv: Sequence[str] | None = None) -> int:
    """Record ``/orpose/poses`` (topic, stamp, receipt [ns], persons) and the node's diagnostics.

    The record is rewritten as JSON at every diagnostics message (1 Hz) and once more at exit
    (SIGINT). Runs until stopped.
    """
    parser = argparse.ArgumentParser(prog="orpose_ros.bench.ros_bench --probe")
    parser.add_argument("--probe", action="store_true")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("topics", nargs="+", help="the node's image topics (diagnostics are kept for these)")
    args = parser.parse_args(argv)

    import rclpy
    from diagnostic_msgs.msg import DiagnosticArray
    from rclpy.executors import ExternalShutdownException, SingleThreadedExecutor
    from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy

    from orpose_msgs.msg import PersonPoseArray
    from orpose_ros.ros.entry_point import spin_until_shutdown

    record: dict = {"poses": [], "diagnostics": {}, "model": {}, "diagnostics_recv_ns": 0, "input_hz_peak": {}}

    def save() -> None:
        tmp = args.out.with_suffix(".tmp")
        tmp.write_text(json.dumps(record))
        tmp.replace(args.out)

    def on_poses(msg: PersonPoseArray) -> None:
        recv = time.time_ns()
        stamp = msg.header.stamp.sec * 1_000_000_000 + msg.header.stamp.nanosec
        record["poses"].append([msg.source_topic, stamp, recv, len(msg.persons)])

    def on_diagnostics(msg: DiagnosticArray) -> None:
        cameras, model = _diagnostics_values(msg)
        if not model:
            return  # another node's diagnostics
        record["diagnostics"] = {t: c for t, c in cameras.items() if t in args.topics}
        for topic, values in record["diagnostics"].items():  # the node's input rate (over its last events)
            record["input_hz_peak"][topic] = max(record["input_hz_peak"].get(topic, 0.0), values["input_hz"])
        record["model"] = model
        record["diagnostics_recv_ns"] = time.time_ns()
        save()

    rclpy.init()
    node = rclpy.create_node("orpose_bench_probe")
    qos = QoSProfile(depth=100, history=HistoryPolicy.KEEP_LAST, reliability=ReliabilityPolicy.RELIABLE)
    node.create_subscription(PersonPoseArray, POSES_TOPIC, on_poses, qos)
    node.create_subscription(DiagnosticArray, DIAGNOSTICS_TOPIC, on_diagnostics, qos)
    executor = SingleThreadedExecutor()
    executor.add_node(node)
    try:
        spin_until_shutdown(executor)  # no timer here: executor.spin() could miss the SIGINT that ends it
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
    finally:
        save()
        executor.shutdown()
        node.destroy_node()
        rclpy.try_shutdown()
    return 0


if __name__ == "__main__":
    logging.basicConfig(level=logging.INFO)
    sys.exit(probe_main())
