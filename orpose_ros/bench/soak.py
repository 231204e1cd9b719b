"""orpose-soak: run orpose_node for a long time under camera load and record its memory.

    orpose-soak [--minutes 30] [--cameras 3] [--rate 30] [--source synthetic|DIR|VIDEO] [--device cpu]
                [--random-weights 0 | --weights W] [--warmup-minutes 5] [--out soak_results/]

Starts the node and one camera_replay per camera (separate processes, loopback DDS, their own
domain), samples the node's resident memory (VmRSS) and its poses every ``--interval`` seconds,
and writes ``soak.csv``, ``soak.json`` (the samples, the growth fitted after warm-up in MB/min)
and ``soak.png``. No timing or memory is asserted: it measures.
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from pathlib import Path

import numpy as np
from tqdm import tqdm

from orpose_ros.ros import processes

KIB_PER_MB = 1024.0


def rss_mb(pid: int) -> float:
    """Resident memory of a process [MB], from /proc (NaN once it is gone)."""
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / KIB_PER_MB
    except OSError:
        pass
    return float("nan")


def growth_mb_per_min(minutes: np.ndarray, rss: np.ndarray, after_min: float) -> float:
    """Least-squares slope of RSS over time after the warm-up [MB/min]; NaN with < 3 samples."""
    keep = (minutes >= after_min) & np.isfinite(rss)
    if keep.sum() < 3:
        return float("nan")
    return float(np.polyfit(minutes[keep], rss[keep], 1)[0])


def _arguments(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="orpose-soak", description=__doc__.split("\n")[0])
    weights = parser.add_mutually_exclusive_group()
    weights.add_argument("--weights", type=Path, help="ORPose checkpoint")
    weights.add_argument("--random-weights", type=int, default=0, metavar="SEED", help="random model (default)")
    parser.add_argument("--stats", type=Path, help="h36stats.json")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--warmup-minutes", type=float, default=5.0, help="samples before this are not fitted")
    parser.add_argument("--cameras", type=int, default=3)
    parser.add_argument("--rate", type=float, default=30.0, help="frames/s of each camera")
    parser.add_argument("--source", default="synthetic", help="frames: 'synthetic', a folder or a video")
    parser.add_argument("--size", default="640x480", help="frame size WxH")
    parser.add_argument("--downsample", type=int, default=12)
    parser.add_argument("--device", default="cpu")
    parser.add_argument("--interval", type=float, default=10.0, help="seconds between samples")
    parser.add_argument("--node-env", action="append", default=[], metavar="NAME=VALUE",
                        help="extra environment of the node only (e.g. MALLOC_ARENA_MAX=2), repeatable")
    parser.add_argument("--out", type=Path, default=Path("soak_results"))
    return parser.parse_args(argv)


def _node_params(args: argparse.Namespace, topics: list[str]) -> dict[str, object]:
    return {"image_topics": topics, "device": args.device, "downsample_factor": args.downsample,
            "publish_debug_image": True, "publish_markers": True,
            **processes.model_parameters(args.weights, args.random_weights, args.stats)}


def _write(out: Path, samples: list[dict], summary: dict) -> None:
    with (out / "soak.csv").open("w", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(samples[0]))
        writer.writeheader()
        writer.writerows(samples)
    (out / "soak.json").write_text(json.dumps({"summary": summary, "samples": samples}, indent=1) + "\n")
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    minutes = [s["minutes"] for s in samples]
    fig, ax = plt.subplots(figsize=(7, 3.5))
    ax.plot(minutes, [s["rss_mb"] for s in samples], label="orpose_node RSS")
    ax.axvline(summary["warmup_minutes"], color="grey", linestyle=":", label="end of warm-up")
    ax.set_xlabel("minutes")
    ax.set_ylabel("MB")
    ax.set_title(f"{summary['cameras']} cameras x {summary['rate_hz']:g} Hz, {summary['device']}: "
                 f"{summary['growth_mb_per_min']:+.2f} MB/min after warm-up")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(out / "soak.png", dpi=100)
    plt.close(fig)


def main(argv: list[str] | None = None) -> int:
    args = _arguments(argv)
    args.out.mkdir(parents=True, exist_ok=True)
    topics = [f"/soak_{i}/image_raw" for i in range(args.cameras)]
    env = processes.ros_child_env(log_dir=args.out / "ros_log")
    node_env = dict(item.split("=", 1) for item in args.node_env)
    samples: list[dict] = []
    started = time.monotonic()
    with processes.ProcessGroup(env, args.out) as group:
        node = group.start("orpose_node", processes.node_command("orpose_ros.ros.node", _node_params(args, topics)),
                           extra_env=node_env)
        if not processes.wait_until(lambda: "ready:" in group.log("orpose_node") or node.poll() is not None, 300):
            print("orpose-soak: the node did not come up:\n" + group.log_tail("orpose_node"), file=sys.stderr)
            return 1
        for i, topic in enumerate(topics):
            group.start(f"camera_{i}", [sys.executable, "-m", "orpose_ros.ros.camera_replay", "--source",
                                        args.source, "--topic", topic, "--rate", str(args.rate), "--size", args.size])
        total = int(args.minutes * 60 / args.interval)
        for _ in tqdm(range(total), desc="soak", unit="sample", file=sys.stderr):
            time.sleep(args.interval)
            if node.poll() is not None:
                print(f"orpose-soak: the node exited with code {node.returncode}", file=sys.stderr)
                break
            log = group.log("orpose_node")
            samples.append({"minutes": round((time.monotonic() - started) / 60.0, 3),
                            "rss_mb": round(rss_mb(node.pid), 1), "errors": log.count("[ERROR]")})
    minutes = np.array([s["minutes"] for s in samples])
    rss = np.array([s["rss_mb"] for s in samples])
    after = minutes >= args.warmup_minutes
    summary = {
        "cameras": args.cameras, "rate_hz": args.rate, "device": args.device, "minutes": args.minutes,
        "warmup_minutes": args.warmup_minutes, "node_env": args.node_env,
        "rss_start_mb": float(rss[0]) if rss.size else float("nan"),
        "rss_after_warmup_mb": float(rss[after][0]) if after.any() else float("nan"),
        "rss_end_mb": float(rss[-1]) if rss.size else float("nan"),
        "rss_max_mb": float(np.nanmax(rss)) if rss.size else float("nan"),
        "growth_mb_per_min": growth_mb_per_min(minutes, rss, args.warmup_minutes),
    }
    if samples:
        _write(args.out, samples, summary)
    print(json.dumps(summary, indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
