"""Benchmark results out: latency statistics, bench.json, bench.png and markdown tables.

The result is one JSON-ready dict: ``{"meta": {...}, "model": {...} | None, "ros": {...} | None}``
(sections as produced by `model_bench.run_model_bench` and `ros_bench.run_ros_bench`).
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from pathlib import Path

import numpy as np

logger = logging.getLogger(__name__)

SUMMARY_KEYS = ("mean", "p50", "p95", "p99", "min", "max")


def latency_summary(values_ms: Sequence[float]) -> dict[str, float | int]:
    """``n`` and mean, p50, p95, p99, min, max of durations in ms (NaN when there are none)."""
    values = np.asarray(values_ms, dtype=float)
    if values.size == 0:
        return {"n": 0, **{key: float("nan") for key in SUMMARY_KEYS}}
    return {
        "n": int(values.size),
        "mean": float(values.mean()),
        "p50": float(np.percentile(values, 50)),
        "p95": float(np.percentile(values, 95)),
        "p99": float(np.percentile(values, 99)),
        "min": float(values.min()),
        "max": float(values.max()),
    }


def _json_ready(value: object) -> object:
    """NaN/inf -> None (strict JSON), numpy scalars -> Python, recursively."""
    if isinstance(value, dict):
        return {str(k): _json_ready(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_json_ready(v) for v in value]
    if isinstance(value, np.generic):
        value = value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None
    if isinstance(value, Path):
        return str(value)
    return value


def write_json(result: dict, path: Path) -> None:
    """Write ``result`` as strict JSON (NaN becomes null)."""
    path.write_text(json.dumps(_json_ready(result), indent=2) + "\n")


# ------------------------------------------------------------------------------------------
# Plot


def _plot_series(result: dict) -> list[tuple[str, list[float], float]]:
    """(label, latencies [ms], throughput [frames/s]) per setup, model setups first."""
    series = []
    for setup in (result.get("model") or {}).get("setups", []):
        series.append((f"model: {setup['name']}", setup["latencies_ms"], setup["frames_per_s"]))
    for setup in (result.get("ros") or {}).get("setups", []):
        series.append((f"ROS: {setup['name']}", setup["latencies_ms"], setup["poses_per_s_total"]))
    return series


def write_plot(result: dict, path: Path) -> None:
    """bench.png: latency distribution (left) and throughput (right) of every setup."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    series = _plot_series(result)
    if not series:
        logger.warning("nothing measured: no plot written")
        return
    labels = [s[0] for s in series]
    fig, (ax_lat, ax_thr) = plt.subplots(1, 2, figsize=(14, 1.2 + 0.55 * len(series)), sharey=True)
    positions = np.arange(len(series))
    for y, (_, latencies, _) in zip(positions, series, strict=True):
        if latencies:
            ax_lat.boxplot([latencies], positions=[y], orientation="horizontal", widths=0.5, showfliers=False)
            jitter = (np.random.default_rng(y).random(len(latencies)) - 0.5) * 0.3
            ax_lat.scatter(latencies, y + jitter, s=8, alpha=0.5, color="tab:blue")
    ax_lat.set_yticks(positions, labels)
    ax_lat.invert_yaxis()
    ax_lat.set_xlabel("latency [ms] (model: per call; ROS: image stamp -> poses received)")
    ax_lat.set_title("Latency distribution")
    ax_lat.grid(axis="x", alpha=0.3)
    throughput = [s[2] if s[2] is not None and math.isfinite(s[2]) else 0.0 for s in series]
    ax_thr.barh(positions, throughput, color=["tab:orange" if s[0].startswith("model") else "tab:green"
                                              for s in series])
    for y, value in zip(positions, throughput, strict=True):
        ax_thr.text(value, y, f" {value:.3g}", va="center")
    ax_thr.set_xlabel("throughput [frames/s] (ROS: poses/s, all cameras)")
    ax_thr.set_title("Throughput")
    ax_thr.grid(axis="x", alpha=0.3)
    meta = result.get("meta", {})
    fig.suptitle(f"orpose-bench on {meta.get('machine', {}).get('summary', '?')}", fontsize=10)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------------------------
# Markdown


def _f(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.{digits}f}"


def _g(value: float | None) -> str:
    if value is None or (isinstance(value, float) and not math.isfinite(value)):
        return "n/a"
    return f"{value:.2g}"


def model_table(model: dict) -> str:
    """Markdown: one row per model setup, then the agreement of our predictor with the published one."""
    rows = [
        "| Model setup | Device | Frames/call | Timed frames | Frames/s | vs published | p50 ms | p95 ms | p99 ms |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for s in model["setups"]:
        lat = s["latency_ms"]
        rows.append(
            f"| {s['name']} | {model['device_name']} | {s['cameras']} | {s['frames']} | {_f(s['frames_per_s'], 3)} "
            f"| {_f(s['speedup_vs_published'], 2)}x | {_f(lat['p50'])} | {_f(lat['p95'])} | {_f(lat['p99'])} |"
        )
    rows += [
        "",
        "| Ours vs published (same frames) | Persons (a)/(b) | Unmatched | max Δbox px | max Δscore "
        "| max Δkeypoint px | max Δkeypoint score | max Δ3D m | Verdict |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for name, a in model["agreement"].items():
        m = a["max_abs"]
        if a["exact_check"]:
            verdict = "equal (within fp32 tolerance)" if a["within_tolerance"] else "**DIFFERENT**"
        else:
            verdict = "deviation reported"
        rows.append(
            f"| {name} | {a['persons_reference']}/{a['persons_tested']} | {a['unmatched']} | {_g(m['box_px'])} "
            f"| {_g(m['score'])} | {_g(m['keypoint_xy_px'])} | {_g(m['keypoint_score'])} | {_g(m['joint_3d_m'])} "
            f"| {verdict} |"
        )
    return "\n".join(rows)


def ros_table(ros: dict) -> str:
    """Markdown: one row per end-to-end setup, then the node-overhead figure."""
    rows = [
        "| ROS setup | DDS | Cameras x Hz | Published | Lost before node | Node input Hz (peak) | Node drops "
        "| Poses | Poses/s per camera | p50 ms | p95 ms | p99 ms | Node overhead |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for s in ros["setups"]:
        lat = s["latency_ms"]
        per_camera = ", ".join(_f(v, 2) for v in s["poses_per_s_per_camera"])
        input_hz = ", ".join(_f(v, 1) for v in s.get("node_input_hz_peak", []))
        overhead = (f"{_f(s['node_overhead_ms'])} ms ({_f(s['node_overhead_pct'], 2)} %)"
                    if "node_overhead_ms" in s else "n/a")
        rows.append(
            f"| {s['name']} | {s['dds']} | {s['cameras']} x {s['rate_hz']:g} | {s['published']} "
            f"| {s['lost_before_node']} | {input_hz} | {s['node_dropped']} | {s['poses_received']} | {per_camera} "
            f"| {_f(lat['p50'])} | {_f(lat['p95'])} | {_f(lat['p99'])} | {overhead} |"
        )
    overhead = ros.get("overhead")
    if overhead:
        rows += [
            "",
            f"Node overhead on {ros.get('device', '?')} ({overhead['setup']}): end-to-end service time "
            f"{_f(overhead['service_ms_mean'])} ms per frame vs model time {_f(overhead['model_ms_mean'])} ms "
            f"(node's own inference timing) = **{_f(overhead['overhead_ms'])} ms, "
            f"{_f(overhead['overhead_pct'], 2)} %** (goal: at most {overhead['goal_pct']:g} %).",
        ]
    return "\n".join(rows)


def backend_table(section: dict) -> str:
    """Markdown: ms per frame per setup (median, spread, speed-up), then the output check."""
    rows = ["| Backend setup | Precision | Frames/call | Timed frames | Median ms/frame | min-max ms/frame "
            "| vs published (medians) | vs published (paired rounds: median, min-max) |",
            "|---|---|---|---|---|---|---|---|"]
    for s in section["setups"]:
        lat, paired = s["ms_per_frame"], s["paired_speedup"]
        rows.append(f"| {s['name']} | {s['precision']} | {s['cameras']} | {lat['n'] * s['cameras']} "
                    f"| {s['median_ms_per_frame']:.0f} | {lat['min']:.0f}-{lat['max']:.0f} "
                    f"| {s['speedup_vs_published']:.2f}x | {paired['median']:.2f}x, "
                    f"{paired['min']:.2f}-{paired['max']:.2f}x |")
    rows += ["", f"| vs published (persons above {section['score_threshold']}) | Persons | Unmatched | max Δbox px "
             "| max Δkeypoint px | max Δ3D mm | Verdict |", "|---|---|---|---|---|---|---|"]
    for name, a in section["agreement"].items():
        m = a["max_abs"]
        verdict = ("equal (0.01 px, 0.01 mm)" if a["within_tolerance"] else "**DIFFERENT**") if a["exact_check"] \
            else "deviation reported"
        rows.append(f"| {name} | {a['persons_reference']}/{a['persons_tested']} | {a['unmatched']} "
                    f"| {m['box_px']:.2g} | {m['keypoint_xy_px']:.2g} | {m['joint_3d_m'] * 1e3:.2g} | {verdict} |")
    return "\n".join(rows)


def markdown_report(result: dict) -> str:
    """The README tables of a bench result (whatever sections it has), with the machine line."""
    meta = result.get("meta", {})
    parts = [f"Machine: {meta.get('machine', {}).get('summary', '?')}. Command: `{meta.get('command', '?')}`"]
    if result.get("model"):
        parts.append(model_table(result["model"]))
    if result.get("backends"):
        parts.append(backend_table(result["backends"]))
    if result.get("ros"):
        parts.append(ros_table(result["ros"]))
    return "\n\n".join(parts) + "\n"
