"""orpose-download-models on archives built here: file:// URLs, plain paths, checks, offline."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from orpose_ros.cli import download_models
from orpose_ros.cli.download_models import LICENCE_NOTE, main
from orpose_ros.model_files import CHECKPOINT_NAMES, STATS_FILE_NAME

_PROXY_VARS = ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY")


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    """The unreachable-host test must hit loopback itself, never a configured proxy."""
    for var in _PROXY_VARS:
        monkeypatch.delenv(var, raising=False)


def _payload(name: str) -> bytes:
    return f"fake checkpoint {name}".encode()


@pytest.fixture
def archive(tmp_path: Path) -> Path:
    """A models.zip like the published one: the checkpoints two folders deep, plus decoys."""
    path = tmp_path / "src" / "models.zip"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w") as zf:
        zf.writestr("ORPose/models/README.txt", "not wanted")
        zf.writestr("__MACOSX/ORPose/models/._orpose_fixed_8x_model_final.pth", "resource fork")
        for name in CHECKPOINT_NAMES:
            zf.writestr(f"ORPose/models/{name}", _payload(name))
    return path


@pytest.fixture
def stats_file(tmp_path: Path, stats_path: Path) -> Path:
    path = tmp_path / "src" / STATS_FILE_NAME
    path.parent.mkdir(exist_ok=True)
    path.write_bytes(stats_path.read_bytes())
    return path


def _run(archive: Path | str, stats: Path | str, dest: Path, *extra: str) -> int:
    return main(["--url", str(archive), "--stats-url", str(stats), "--dest", str(dest), *extra])


def test_file_urls_extract_the_four_files_flat(
    archive: Path, stats_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    dest = tmp_path / "models"
    assert _run(archive.as_uri(), stats_file.as_uri(), dest) == 0
    assert sorted(p.name for p in dest.iterdir()) == sorted([*CHECKPOINT_NAMES, STATS_FILE_NAME])
    for name in CHECKPOINT_NAMES:
        assert (dest / name).read_bytes() == _payload(name)
    assert (dest / STATS_FILE_NAME).read_bytes() == stats_file.read_bytes()
    out = capsys.readouterr().out
    assert "CC BY-NC-SA 4.0" in out
    assert "non-commercial" in out
    assert LICENCE_NOTE in out


def test_plain_paths_work_and_rerun_skips_unless_forced(
    archive: Path, stats_file: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=download_models.PROG)
    dest = tmp_path / "models"
    assert _run(archive, stats_file, dest) == 0
    for name in [*CHECKPOINT_NAMES, STATS_FILE_NAME]:
        (dest / name).write_bytes(b"local copy")
    caplog.clear()
    assert _run(archive, stats_file, dest) == 0
    assert all((dest / n).read_bytes() == b"local copy" for n in [*CHECKPOINT_NAMES, STATS_FILE_NAME])
    assert sum("already present" in r.getMessage() for r in caplog.records) == 4
    assert _run(archive, stats_file, dest, "--force") == 0
    assert (dest / CHECKPOINT_NAMES[2]).read_bytes() == _payload(CHECKPOINT_NAMES[2])
    assert (dest / STATS_FILE_NAME).read_bytes() == stats_file.read_bytes()
    assert sorted(p.name for p in dest.iterdir()) == sorted([*CHECKPOINT_NAMES, STATS_FILE_NAME])


def test_only_missing_checkpoints_are_extracted(archive: Path, stats_file: Path, tmp_path: Path) -> None:
    dest = tmp_path / "models"
    assert _run(archive, stats_file, dest) == 0
    (dest / CHECKPOINT_NAMES[0]).write_bytes(b"kept")
    (dest / CHECKPOINT_NAMES[1]).unlink()
    assert _run(archive, stats_file, dest) == 0
    assert (dest / CHECKPOINT_NAMES[0]).read_bytes() == b"kept"
    assert (dest / CHECKPOINT_NAMES[1]).read_bytes() == _payload(CHECKPOINT_NAMES[1])


def test_nothing_fetched_when_all_present(archive: Path, stats_file: Path, tmp_path: Path) -> None:
    dest = tmp_path / "models"
    assert _run(archive, stats_file, dest) == 0
    # Sources that no longer exist are never opened when nothing is missing.
    assert _run(tmp_path / "gone.zip", tmp_path / "gone.json", dest) == 0


def test_corrupt_zip_fails_clearly_and_writes_nothing(
    stats_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    bad = tmp_path / "broken.zip"
    bad.write_bytes(b"PK\x03\x04 this is not really a zip archive" * 10)
    dest = tmp_path / "models"
    assert _run(bad, stats_file, dest) == 2
    err = capsys.readouterr().err
    assert "not a valid zip archive" in err
    assert "broken.zip" in err
    assert "Traceback" not in err
    assert list(dest.iterdir()) == []


def test_zip_without_a_checkpoint_names_it(
    stats_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    partial = tmp_path / "partial.zip"
    with zipfile.ZipFile(partial, "w") as zf:
        for name in CHECKPOINT_NAMES[:2]:
            zf.writestr(name, _payload(name))
    dest = tmp_path / "models"
    assert _run(partial, stats_file, dest) == 2
    assert "does not contain orpose_fixed_12x_model_final.pth" in capsys.readouterr().err
    assert list(dest.iterdir()) == []


@pytest.mark.parametrize(
    ("key", "value", "message"),
    [
        ("data_mean_2d", [0.0] * 63, "data_mean_2d has 63 values, expected 64"),
        ("dim_to_use_3d", list(range(47)), "dim_to_use_3d has 47 values, expected 48"),
        ("data_std_3d", None, "missing data_std_3d"),
        ("dim_to_use_2d", list(range(60, 92)), "dim_to_use_2d indexes outside its 64-value statistics"),
    ],
)
def test_stats_with_wrong_arrays_are_refused(
    archive: Path,
    stats_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    key: str,
    value: list | None,
    message: str,
) -> None:
    stats = json.loads(stats_path.read_text())
    if value is None:
        del stats[key]
    else:
        stats[key] = value
    bad = tmp_path / "bad_stats.json"
    bad.write_text(json.dumps(stats))
    dest = tmp_path / "models"
    assert _run(archive, bad, dest) == 2
    assert message in capsys.readouterr().err
    assert not (dest / STATS_FILE_NAME).exists()


def test_stats_not_json_refused(archive: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "page.html"
    bad.write_text("<html>404 not found</html>")
    assert _run(archive, bad, tmp_path / "models") == 2
    assert "cannot read Human3.6M statistics" in capsys.readouterr().err


def test_missing_local_source_is_named(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    missing = tmp_path / "nowhere" / "models.zip"
    assert _run(missing, missing, tmp_path / "models") == 2
    assert f"no such file: {missing}" in capsys.readouterr().err
    assert _run(missing.as_uri(), missing, tmp_path / "models") == 2
    assert f"cannot read {missing.as_uri()}" in capsys.readouterr().err


def test_unreachable_host_says_offline_and_how_to_install_by_hand(
    stats_file: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = "http://127.0.0.1:9/models.zip"  # loopback discard port: nothing listens there
    dest = tmp_path / "models"
    assert _run(url, stats_file, dest) == 2
    err = capsys.readouterr().err
    assert f"cannot reach {url}" in err
    assert "seems to be offline" in err
    assert download_models.MODELS_URL in err
    assert download_models.STATS_URL in err
    assert str(dest.resolve()) in err
    assert "Traceback" not in err


def test_console_process_exit_status_on_offline(stats_file: Path, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if k not in _PROXY_VARS}
    cmd = [sys.executable, "-m", "orpose_ros.cli.download_models", "--dest", str(tmp_path / "m"),
           "--url", "http://127.0.0.1:9/models.zip", "--stats-url", str(stats_file)]  # fmt: skip
    proc = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=60, cwd=tmp_path)
    assert proc.returncode == 2, proc.stderr
    assert "seems to be offline" in proc.stderr
    assert "Traceback" not in proc.stderr


def test_default_destination_is_the_models_folder(
    archive: Path, stats_file: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("ORPOSE_MODELS_DIR", str(tmp_path / "shared_models"))
    assert main(["--url", str(archive), "--stats-url", str(stats_file)]) == 0
    assert (tmp_path / "shared_models" / STATS_FILE_NAME).is_file()
