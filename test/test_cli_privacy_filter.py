"""orpose-privacy-filter on sessions written with rosbags (sqlite3 and MCAP): every image shrunk, headers
kept, camera_info rescaled, other messages copied, picture-carrying ones dropped, bad ones counted."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest
from ros_tools.session_bags import (
    COMPRESSED,
    DEPTH,
    INFO,
    NOTES,
    RAW,
    TYPESTORE,
    frame,
    write_session,
)
from rosbags.highlevel import AnyReader

from orpose_ros import privacy

pytestmark = pytest.mark.ros


def _run(*args: object) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, "-m", "orpose_ros.cli.privacy_filter", *map(str, args)]
    return subprocess.run(command, capture_output=True, text=True, timeout=120)


def _messages(path: Path) -> dict[str, list]:
    with AnyReader([path], default_typestore=TYPESTORE) as reader:
        out: dict[str, list] = {}
        for connection, stamp, raw in reader.messages():
            out.setdefault(connection.topic, []).append((stamp, reader.deserialize(raw, connection.msgtype), raw))
        return out


def _header(msg: object) -> tuple[int, int, str]:
    return msg.header.stamp.sec, msg.header.stamp.nanosec, msg.header.frame_id


@pytest.mark.parametrize("storage", ["sqlite3", "mcap"])
def test_a_session_is_rewritten_with_nothing_above_the_shrunk_size(tmp_path: Path, storage: str) -> None:
    session = tmp_path / "session"
    written = write_session(session, storage, frames=2)
    result = _run(session, tmp_path / "shared", "--factor", "12")
    assert result.returncode == 0, result.stderr
    assert "4 shrunk" in result.stdout
    assert "1 rescaled" in result.stdout
    assert "1 copied" in result.stdout
    assert "dropped (stereo_msgs/msg/DisparityImage on /cam1/disparity)" in result.stdout
    assert f"dropped (unreadable on {RAW})" in result.stdout
    assert f"dropped (unreadable on {DEPTH})" in result.stdout

    before, after = _messages(session), _messages(tmp_path / "shared")
    assert set(after) == {RAW, COMPRESSED, INFO, NOTES}  # nothing else leaves
    assert len(after[RAW]) == written[RAW] - 1
    assert len(after[COMPRESSED]) == written[COMPRESSED]
    for topic, index_offset in ((RAW, 0), (COMPRESSED, 10)):
        for k, (stamp, msg, _) in enumerate(after[topic]):
            original_stamp, original, _ = before[topic][k]
            assert stamp == original_stamp
            assert _header(msg) == _header(original)
            pixels = (msg.data.reshape(msg.height, msg.width, 3) if topic == RAW
                      else cv2.imdecode(msg.data, cv2.IMREAD_COLOR))
            assert pixels.shape == (40, 53, 3)
            np.testing.assert_array_equal(pixels, privacy.shrink(frame(index_offset + k), 12))
    info = after[INFO][0][1]
    assert (info.width, info.height) == (53, 40)
    assert info.k[0] == pytest.approx(500.0 * 53 / 640)
    assert after[NOTES][0][2] == before[NOTES][0][2]  # copied byte for byte
    with AnyReader([tmp_path / "shared"]) as reader:  # the definitions travel with the bag
        assert all(c.msgdef.data for c in reader.connections)
    suffixes = {p.suffix for p in (tmp_path / "shared").iterdir()}
    assert (".mcap" if storage == "mcap" else ".db3") in suffixes


def test_bad_inputs_are_one_line_errors(tmp_path: Path) -> None:
    missing = _run(tmp_path / "nowhere", tmp_path / "out")
    assert missing.returncode == 2
    assert f"no bag at {tmp_path / 'nowhere'}" in missing.stderr
    session = tmp_path / "session"
    write_session(session, "mcap", frames=1, broken=False)
    mcap = next(session.glob("*.mcap"))
    mcap.write_bytes(mcap.read_bytes()[: mcap.stat().st_size // 2])  # a recording cut short
    truncated = _run(session, tmp_path / "out")
    assert truncated.returncode == 2
    assert "Traceback" not in truncated.stderr
    assert str(session) in truncated.stderr
    exists = _run(session, session)
    assert exists.returncode == 2
    assert "exists already" in exists.stderr
    factor = _run(session, tmp_path / "x", "--factor", "1")
    assert factor.returncode == 2
    assert "at least 2" in factor.stderr
