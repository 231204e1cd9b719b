"""orpose-bench: the model against the published pipeline, then the node end to end through ROS 2.

    orpose-bench (--weights W | --random-weights SEED) [--stats S] [--device D] [--fp16]
                 [--frames DIR] [--short] [--out DIR] [--skip-ros] [--skip-model]
                 [--cameras 1,3] [--rate R] [--duration S] [more: --help]

Writes OUT/bench.json, OUT/bench.png and OUT/bench.md, and prints the markdown table. Exits 3 when
our predictor's fp32 outputs differ from the published pipeline's.
"""

from __future__ import annotations

import argparse
import datetime
import logging
import os
import platform
import shlex
import sys
from pathlib import Path

from orpose_ros.arguments import parse_size

from .report import markdown_report, write_json, write_plot

logger = logging.getLogger("orpose_bench")

#: Defaults of --short (a few minutes on a 2-core CPU) and of the full run.
SHORT = {"model_frames": 3, "warmup": 1, "rate": 0.5, "duration": 20.0}
FULL = {"model_frames": 10, "warmup": 2, "rate": 1.0, "duration": 60.0}


def _counts(text: str) -> tuple[int, ...]:
    try:
        values = tuple(int(v) for v in text.split(",") if v.strip())
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected comma-separated camera counts like 1,3, got '{text}'") from None
    if not values or any(v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"camera counts must be >= 1, got '{text}'")
    return values


def _names(text: str) -> tuple[str, ...]:
    return tuple(v.strip() for v in text.split(",") if v.strip())


def _dds_modes(text: str) -> tuple[str, ...]:
    modes = tuple(m.strip() for m in text.split(",") if m.strip())
    if not modes or any(m not in ("shipped", "default") for m in modes):
        raise argparse.ArgumentTypeError(f"DDS modes are 'shipped' and/or 'default', got '{text}'")
    return modes


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="orpose-bench", description=__doc__.split("\n")[0])
    model = parser.add_argument_group("model")
    weights = model.add_mutually_exclusive_group(required=True)
    weights.add_argument("--weights", type=Path, help="ORPose checkpoint (orpose_fixed_Sx_model_final.pth)")
    weights.add_argument("--random-weights", type=int, metavar="SEED",
                         help="random detecting weights (timing only; the poses are meaningless)")
    model.add_argument("--stats", type=Path, help="h36stats.json (default: beside the weights, then models/)")
    model.add_argument("--device", default="auto", help="cpu, cuda, cuda:N or auto (default)")
    model.add_argument("--fp16", action="store_true", help="also run our predictor in fp16 (CUDA only)")
    model.add_argument("--gpu-preprocess", choices=("auto", "on", "off"), default="auto",
                       help="also run our predictor with torch preprocessing on the device (auto: on CUDA)")
    model.add_argument("--cudnn-benchmark", action="store_true",
                       help="torch.backends.cudnn.benchmark for our predictor (model bench only)")
    model.add_argument("--channels-last", action="store_true",
                       help="also run our predictor with channels-last weights (model bench only)")
    model.add_argument("--downsample", type=int, default=1, metavar="S",
                       help="privacy factor applied inside the timed calls of both pipelines and the node (1 = off)")
    backends = parser.add_argument_group("backends (issue 15): detectron2 eager vs exported runtimes, round-robin")
    backends.add_argument("--backends", type=_names, metavar="B1,B2",
                          help="compare the published pipeline with these runtimes on the CPU: detectron2 (our "
                          "predictor), onnxruntime, openvino (the checkpoint is exported once, verified)")
    backends.add_argument("--ov-precisions", type=_names, default=("fp32",), metavar="P1,P2",
                          help="OpenVINO precisions: fp32 and the reduced bf16, fp16 (their deviation is reported)")
    backends.add_argument("--exported", type=Path, metavar="DIR", help="use this exported folder (of the same "
                          "checkpoint) instead of exporting")
    backends.add_argument("--threads", type=int, default=0, help="runtime threads of the exported backends "
                          "(default 0: the runtime's own)")
    frames = parser.add_argument_group("frames")
    frames.add_argument("--frames", type=Path, help="folder of frames (default: the built-in synthetic camera)")
    frames.add_argument("--restore-size", type=parse_size, default=(640, 480), metavar="WxH",
                        help="frames of another size are resized bilinearly to this, as the published demo does")
    frames.add_argument("--model-frames", type=int, help="frames through the model bench (short: 3, full: 10)")
    frames.add_argument("--passes", type=int, default=1, help="times every frame goes through each model setup")
    frames.add_argument("--warmup", type=int, help="untimed calls before each model setup (short: 1, full: 2)")
    ros = parser.add_argument_group("ROS end to end")
    ros.add_argument("--cameras", type=_counts, default=(1, 3), help="camera counts, e.g. 1,3")
    ros.add_argument("--rate", type=float, help="frames/s of each camera (short: 0.5, full: 1)")
    ros.add_argument("--duration", type=float, help="publishing time per setup [s] (short: 20, full: 60)")
    ros.add_argument("--transport-rate", type=float, default=30.0, metavar="HZ",
                     help="extra setups with the most cameras at this rate, to measure DDS losses (0 = none)")
    ros.add_argument("--transport-duration", type=float, default=10.0, metavar="S",
                     help="publishing time of the transport setups [s]")
    ros.add_argument("--dds", type=_dds_modes, default=("shipped", "default"),
                     help="shipped (config/fastdds_shm.xml) and/or default (Fast DDS defaults)")
    ros.add_argument("--qos", choices=("best_effort", "reliable"), default="best_effort", help="image QoS")
    ros.add_argument("--node-backend", default="auto", choices=("auto", "detectron2", "onnxruntime", "openvino"),
                     help="the node's backend parameter (with --weights DIR, an exported folder: its runtime)")
    ros.add_argument("--no-markers", action="store_true", help="node: publish_markers:=false")
    ros.add_argument("--no-debug-image", action="store_true", help="node: publish_debug_image:=false")
    run = parser.add_argument_group("run")
    run.add_argument("--short", action="store_true", help="a few minutes on a 2-core CPU")
    run.add_argument("--out", type=Path, default=Path("bench_results"),
                     help="output folder (default: bench_results)")
    run.add_argument("--skip-model", action="store_true", help="no model bench")
    run.add_argument("--skip-ros", action="store_true", help="no ROS end-to-end bench")
    run.add_argument("--log-level", default="INFO", choices=("DEBUG", "INFO", "WARNING", "ERROR"))
    return parser


def machine_info() -> dict:
    """CPU, torch threads, GPU(s), versions and load: what a reader needs to compare figures."""
    import torch

    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    gpus = []
    if torch.cuda.is_available():
        gpus = [torch.cuda.get_device_name(i) for i in range(torch.cuda.device_count())]
    threads = torch.get_num_threads()
    summary = f"{os.cpu_count()}-core CPU ({cpu}), torch {torch.__version__} with {threads} threads"
    summary += f", GPU: {', '.join(gpus)}" if gpus else ", no GPU"
    return {
        "summary": summary,
        "cpu": cpu,
        "cpu_count": os.cpu_count(),
        "torch": torch.__version__,
        "torch_threads": threads,
        "gpus": gpus,
        "python": platform.python_version(),
        "platform": platform.platform(),
    }


def _load() -> list[float] | None:
    try:
        return list(os.getloadavg())
    except OSError:
        return None


def _variants(args: argparse.Namespace, cuda: bool) -> tuple:
    from .model_bench import Variant

    torch_pre = args.gpu_preprocess == "on" or (args.gpu_preprocess == "auto" and cuda)
    variants = [Variant(cudnn_benchmark=args.cudnn_benchmark)]
    if torch_pre:
        variants.append(Variant(gpu_preprocess=True, cudnn_benchmark=args.cudnn_benchmark))
    if args.channels_last:
        variants.append(Variant(gpu_preprocess=torch_pre, channels_last=True, cudnn_benchmark=args.cudnn_benchmark))
    if args.fp16:
        variants.append(Variant(fp16=True, gpu_preprocess=torch_pre, channels_last=args.channels_last,
                                cudnn_benchmark=args.cudnn_benchmark))
    return tuple(variants)


def run(args: argparse.Namespace, argv: list[str]) -> dict:
    """Run the requested benchmarks; returns the whole result (also written to ``args.out``)."""
    import torch

    from orpose_ros.frames import SYNTHETIC, load_frames

    from .model_bench import ModelBenchOptions, run_model_bench
    from .ros_bench import RosBenchOptions, run_ros_bench

    defaults = SHORT if args.short else FULL
    cuda = args.device.startswith("cuda") or (args.device == "auto" and torch.cuda.is_available())
    if args.fp16 and not cuda:
        raise SystemExit("orpose-bench: --fp16 needs a CUDA device (none here, or --device cpu)")
    args.out.mkdir(parents=True, exist_ok=True)
    result: dict = {
        "meta": {
            "command": shlex.join(["orpose-bench", *argv]),
            "started_utc": datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds"),
            "machine": machine_info(),
            "load_average_before": _load(),
            "short": args.short,
        },
        "model": None,
        "ros": None,
    }
    if not args.skip_model:
        count = args.model_frames or defaults["model_frames"]
        frames = load_frames(args.frames or SYNTHETIC, count, args.restore_size)
        options = ModelBenchOptions(
            weights=args.weights, random_weights_seed=args.random_weights, stats=args.stats, device=args.device,
            cameras=args.cameras, variants=_variants(args, cuda), downsample_factor=args.downsample,
            passes=args.passes, warmup=defaults["warmup"] if args.warmup is None else args.warmup,
            extra={"frames_source": str(args.frames) if args.frames else "synthetic"},
        )
        result["model"] = run_model_bench(frames, options)
    if args.backends:
        result["backends"] = _run_backends(args, defaults)
    if not args.skip_ros:
        options = RosBenchOptions(
            cameras=args.cameras, rate_hz=args.rate or defaults["rate"],
            duration_s=args.duration or defaults["duration"], dds_modes=args.dds,
            source=str(args.frames) if args.frames else "synthetic", size=args.restore_size, weights=args.weights,
            random_weights_seed=args.random_weights, stats=args.stats, device=args.device, fp16=args.fp16,
            downsample_factor=args.downsample, qos_reliability=args.qos, publish_markers=not args.no_markers,
            publish_debug_image=not args.no_debug_image, transport_rate_hz=args.transport_rate,
            transport_duration_s=args.transport_duration, extra_node_params={"backend": args.node_backend},
        )
        result["ros"] = run_ros_bench(options, args.out / "ros_runs")
    result["meta"]["load_average_after"] = _load()
    result["meta"]["finished_utc"] = datetime.datetime.now(datetime.UTC).isoformat(timespec="seconds")
    return result


def _device(device: str) -> str:
    """``auto`` -> cuda when torch sees a GPU, else cpu; other names unchanged."""
    import torch

    return device if device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu")


def _run_backends(args: argparse.Namespace, defaults: dict) -> dict:
    from orpose_ros.frames import SYNTHETIC, load_frames

    from .backend_bench import BackendBenchOptions, run_backend_bench
    from .model_bench import ModelBenchOptions, _checkpoint_file, _stats_file

    frames = load_frames(args.frames or SYNTHETIC, args.model_frames or defaults["model_frames"], args.restore_size)
    model = ModelBenchOptions(weights=args.weights, random_weights_seed=args.random_weights, stats=args.stats)
    options = BackendBenchOptions(
        backends=args.backends, precisions=args.ov_precisions, cameras=args.cameras,
        downsample_factor=args.downsample, passes=args.passes,
        warmup=defaults["warmup"] if args.warmup is None else args.warmup, threads=args.threads,
        exported=args.exported, device=_device(args.device))
    with _checkpoint_file(model) as (checkpoint, description):
        section = run_backend_bench(frames, checkpoint, _stats_file(model), options)
    section["checkpoint"] = description
    return section


def exact_check_failed(result: dict) -> list[str]:
    """Names of the setups whose fp32 outputs were expected equal to the published ones but are not."""
    agreement = dict((result.get("model") or {}).get("agreement", {}))
    agreement.update((result.get("backends") or {}).get("agreement", {}))
    return [name for name, a in agreement.items() if a["exact_check"] and not a["within_tolerance"]]


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="[%(levelname)s] [%(name)s]: %(message)s")
    if args.skip_model and args.skip_ros and not args.backends:
        logger.error("nothing to do: both --skip-model and --skip-ros")
        return 2
    result = run(args, argv)
    write_json(result, args.out / "bench.json")
    write_plot(result, args.out / "bench.png")
    table = markdown_report(result)
    (args.out / "bench.md").write_text(table)
    logger.info("wrote %s, %s and %s", args.out / "bench.json", args.out / "bench.png", args.out / "bench.md")
    print(table)
    failed = exact_check_failed(result)
    if failed:
        logger.error("our predictor's fp32 outputs differ from the published pipeline's: %s", ", ".join(failed))
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
