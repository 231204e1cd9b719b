"""What the offline tools write: strict JSON written whole, PNG folders and mp4 videos."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from orpose_ros.arguments import CliError
from orpose_ros.cli.outputs import Mp4Sink, PngSink, open_render_sink, write_json_atomic


def test_json_is_strict_and_written_whole(tmp_path: Path) -> None:
    target = tmp_path / "out.json"
    write_json_atomic(target, {"frames": [{"x": 1.5}]})
    assert json.loads(target.read_text()) == {"frames": [{"x": 1.5}]}
    with pytest.raises(ValueError):
        write_json_atomic(target, {"frames": [float("nan")]})  # JSON cannot hold NaN: refused
    assert json.loads(target.read_text()) == {"frames": [{"x": 1.5}]}  # the old file is untouched
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_png_and_mp4_sinks(tmp_path: Path) -> None:
    pngs = PngSink(tmp_path / "render")
    for i in range(2):
        pngs.write(f"f{i}", np.full((40, 53, 3), 100 + i, np.uint8))
    pngs.close()
    written = sorted((tmp_path / "render").iterdir())
    assert [p.name for p in written] == ["000000_f0.png", "000001_f1.png"]
    assert cv2.imread(str(written[1]))[0, 0].tolist() == [101, 101, 101]

    video = Mp4Sink(tmp_path / "out" / "v.mp4", fps=5.0)
    for i in range(3):
        video.write(f"f{i}", np.full((48, 64, 3), 60 * i, np.uint8))
    video.write("odd", np.zeros((10, 10, 3), np.uint8))  # another size: resized, not dropped
    video.close()
    capture = cv2.VideoCapture(str(tmp_path / "out" / "v.mp4"))
    assert int(capture.get(cv2.CAP_PROP_FRAME_COUNT)) == 4
    assert (capture.get(cv2.CAP_PROP_FRAME_WIDTH), capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) == (64, 48)
    capture.release()


def test_render_sink_kind_follows_the_path(tmp_path: Path) -> None:
    assert isinstance(open_render_sink(tmp_path / "x.MP4", 5.0), Mp4Sink)
    assert isinstance(open_render_sink(tmp_path / "pngs", 5.0), PngSink)
    clash = tmp_path / "file.txt"
    clash.write_text("")
    with pytest.raises(CliError, match="not a folder"):
        open_render_sink(clash, 5.0)
