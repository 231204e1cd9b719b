"""``orpose-export``: the ORPose student exported once into a folder that runs without detectron2.

    orpose-export --weights models/orpose_fixed_12x_model_final.pth --out models/orpose_12x_onnx
    orpose-infer frames/ --weights models/orpose_12x_onnx --backend onnxruntime

Needs torch and detectron2 (once); the folder then runs with onnxruntime or openvino alone. The
export is verified on the spot against detectron2 on a few frames with every installed runtime (same
people, 2D within 0.01 px, 3D within 0.01 mm) or it fails (exit status 1) and writes nothing.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from orpose_ros import privacy
from orpose_ros.arguments import CliError, parse_size, positive_int
from orpose_ros.backends.protocol import BackendError

PROG = "orpose-export"
_IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".bmp")


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    weights = parser.add_mutually_exclusive_group(required=True)
    weights.add_argument("--weights", type=Path, metavar="W", help="checkpoint (.pth) to export")
    weights.add_argument("--random-weights", type=int, metavar="SEED",
                         help="random weights of the official layout, for tests and demos ONLY")
    parser.add_argument("--stats", type=Path, metavar="S",
                        help="h36stats.json (default: beside the weights, then the models folder); copied into "
                        "the folder's config.json")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR", help="the folder to create")
    parser.add_argument("--downsample", type=positive_int, metavar="S",
                        help="the privacy factor the weights were trained for (default: the S in the weights' "
                        "name; none recorded otherwise)")
    parser.add_argument("--frames", type=Path, metavar="DIR",
                        help="verify on these images (default: 2 frames of the built-in synthetic camera)")
    parser.add_argument("--restore-size", type=parse_size, metavar="WxH",
                        help="the --frames are low-resolution: enlarge them to WxH first (as the demo does)")
    parser.add_argument("--verify-frames", type=positive_int, default=2, metavar="N",
                        help="how many frames to verify on (default: %(default)s)")
    parser.add_argument("--runtimes", metavar="R1,R2",
                        help="runtimes to verify with (default: every installed one: openvino, onnxruntime)")
    parser.add_argument("--fixed-size", type=parse_size, metavar="WxH",
                        help="export for frames of this size only (default: any size)")
    parser.add_argument("--input-size", metavar="MIN,MAX",
                        help="network input rule, shortest and longest edge (default: the published 800,1333). "
                        "For tests and experiments only: other values change the outputs")
    parser.add_argument("--force", action="store_true", help="replace --out if it exists")
    return parser


def _read_frames(folder: Path, count: int, restore: tuple[int, int] | None) -> list[np.ndarray]:
    from PIL import Image

    files = sorted(p for p in folder.iterdir() if p.suffix.lower() in _IMAGE_SUFFIXES) if folder.is_dir() else []
    if not files:
        raise CliError(f"--frames {folder}: no images found")
    step = max(1, len(files) // count)
    frames = []
    for path in files[::step][:count]:
        frame = np.ascontiguousarray(np.asarray(Image.open(path).convert("RGB"))[:, :, ::-1])
        frames.append(privacy.restore(frame, (restore[1], restore[0])) if restore else frame)
    return frames


def _input_rule(text: str | None) -> tuple[int, int] | None:
    if text is None:
        return None
    try:
        low, high = (int(v) for v in text.split(","))
    except ValueError:
        raise CliError(f"--input-size: expected MIN,MAX such as 800,1333, got {text!r}") from None
    if not 32 <= low <= high:
        raise CliError(f"--input-size: expected 32 <= MIN <= MAX, got {text!r}")
    return low, high


def run(args: argparse.Namespace) -> dict:
    """Load, export, verify; returns the manifest. Raises `CliError` or `BackendError` (one line)."""
    for option, path in (("--weights", args.weights), ("--stats", args.stats)):
        if path is not None and not path.is_file():
            raise CliError(f"{option}: file not found: {path} (see models/README.md: orpose-download-models)")
    if args.out.exists() and not args.force:
        raise CliError(f"--out {args.out} exists; remove it or add --force")
    rule = _input_rule(args.input_size)
    runtimes = args.runtimes.split(",") if args.runtimes else None
    frames = _read_frames(args.frames, args.verify_frames, args.restore_size) if args.frames else None
    if frames is None and args.restore_size:
        raise CliError("--restore-size needs --frames")

    from orpose_ros.model import CheckpointError, OrPosePredictor
    from orpose_ros.model.export import export_model, verification_frames
    from orpose_ros.model_files import downsample_factor_from_name

    factor = args.downsample or (downsample_factor_from_name(args.weights) if args.weights else None)
    try:
        if args.weights is not None:
            predictor = OrPosePredictor.from_files(args.weights, args.stats, device="cpu",
                                                   downsample_factor=factor or 1)
        else:
            predictor = OrPosePredictor.with_random_weights(args.random_weights, args.stats, device="cpu",
                                                            downsample_factor=factor or 1)
    except (CheckpointError, ValueError) as error:
        raise CliError(f"cannot load the model: {' '.join(str(error).split())}") from error
    if rule is not None:
        cfg = predictor.cfg.clone()
        cfg.defrost()
        cfg.INPUT.MIN_SIZE_TEST, cfg.INPUT.MAX_SIZE_TEST = rule
        cfg.freeze()
        predictor = OrPosePredictor(predictor.model, cfg, device="cpu", downsample_factor=factor or 1)
    if frames is None:
        size = (args.fixed_size[1], args.fixed_size[0]) if args.fixed_size else (480, 640)
        frames = verification_frames(args.verify_frames, size)
    fixed = (args.fixed_size[1], args.fixed_size[0]) if args.fixed_size else None
    return export_model(predictor, args.out, checkpoint=args.weights, downsample_factor=factor, frames=frames,
                        runtimes=runtimes, fixed_frame_size=fixed, overwrite=args.force)


def main(argv: Sequence[str] | None = None) -> int:
    """Console entry point: 0 exported and verified, 1 the verification failed, 2 bad arguments or inputs."""
    args = build_parser().parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(name)s: %(levelname)s: %(message)s")
    try:
        manifest = run(args)
    except CliError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 2
    except BackendError as err:
        print(f"{PROG}: error: {err}", file=sys.stderr)
        return 1
    checks = manifest["verification"]["runtimes"]
    summary = ", ".join(f"{name} max 2D {r['max_abs']['keypoint_xy_px']:.1e} px, "
                        f"3D {r['max_abs']['joint_3d_m'] * 1e3:.1e} mm" for name, r in checks.items())
    persons = next(iter(checks.values()))["persons_reference"]
    print(f"exported {args.out} (verified on {manifest['verification']['frames']} frame(s), {persons} detections: "
          f"{summary})")
    return 0


if __name__ == "__main__":
    sys.exit(main())
