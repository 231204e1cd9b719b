"""orpose-eval-mvor: the Markdown table, JSON and picture on MVOR day 1; one-line errors."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import REPO
from fusion_data import mvor_file

from orpose_ros.cli.evaluate_mvor import build_parser, main


@pytest.fixture(scope="module")
def mvor_args() -> list[str]:
    return [
        "--annotations",
        str(mvor_file("camma_mvor_2018_day1.json")),
        "--detections",
        str(mvor_file("openpose_kps_day1.json")),
    ]


def test_table_json_and_plot(tmp_path: Path, mvor_args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    out, png = tmp_path / "scores.json", tmp_path / "plot.png"
    assert main([*mvor_args, "--all-cores", "--json", str(out), "--plot", str(png), "--annotation-consistency"]) == 0
    printed = capsys.readouterr().out
    assert "| all | 97 |" in printed
    assert "False positives per frame" in printed
    assert "Floor: z = " in printed
    scores = json.loads(out.read_text())
    assert scores["frames"] == 57
    assert scores["floor_source"] == "self-calibrated"
    assert -1.3 < scores["floor_z_m"] < -0.8  # people's hips are ~1 m above the floor, near MVOR's z = 0
    assert scores["splits"]["all"]["recall_percent"] >= 90.0
    assert png.stat().st_size < 300_000
    assert png.read_bytes()[:4] == b"\x89PNG"
    consistency = scores["annotation_consistency"]
    assert consistency["3 views"]["mean_error_cm"] < consistency["2 views"]["mean_error_cm"] < 15.0


def test_placement_study_and_given_floor(
    mvor_args: list[str], stats_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "scores.json"
    code = main([*mvor_args, "--all-cores", "--floor", "-1.0", "--placement-study", "--h36m-stats", str(stats_path),
                 "--json", str(out)])  # fmt: skip
    assert code == 0
    study = json.loads(out.read_text())["placement_study"]
    assert set(study) == {
        f"{m} / {t}" for m in ("skeleton", "floor", "skeleton+floor") for t in ("anthropometric", "h36m-mean")
    }
    assert "| skeleton+floor / anthropometric |" in capsys.readouterr().out


def test_missing_input_is_one_line_exit_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["--annotations", str(tmp_path / "a.json"), "--detections", str(tmp_path / "d.json"), "--all-cores"])
    assert code == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0
    assert "orpose-eval-mvor: error: no such file" in err


def test_bad_floor_argument_is_refused() -> None:
    with pytest.raises(SystemExit):
        build_parser().parse_args(["--annotations", "a", "--detections", "b", "--floor", "low"])


def test_runs_as_a_program_pinned_to_one_core(mvor_args: list[str]) -> None:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    result = subprocess.run([sys.executable, "-m", "orpose_ros.cli.evaluate_mvor", *mvor_args],
                            capture_output=True, text=True, env=env, timeout=120, check=False)  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert "pinned to CPU" in result.stdout
    assert "Fusion time per 3-camera frame" in result.stdout


def test_halves_report_pcp_joint_kinds_and_false_people(
    mvor_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    people, frames = 0, 0
    for half in ("first", "second"):
        out = tmp_path / f"{half}.json"
        assert main([*mvor_args, "--all-cores", "--timing-repeats", "1", "--half", half, "--json", str(out)]) == 0
        scores = json.loads(out.read_text())
        assert scores["half"] == half
        people += scores["splits"]["all"]["people"]
        frames += scores["frames"]
        split = scores["splits"]["all"]
        assert 0.0 < split["pcp_percent"] <= 100.0
        assert split["limbs"] > 0
        assert set(split["arms_error_cm_by_kind"]) == {"triangulated", "filled", "single-camera"}
        false = scores["false_people_per_frame"]
        assert false["all"] == pytest.approx(false["inside_ignore_regions"] + false["outside_ignore_regions"], abs=2e-3)
    assert (frames, people) == (57, 97)  # the halves cover day 1 once
    assert "PCP (arms, every person)" in capsys.readouterr().out


def test_the_support_rule_leaves_fewer_false_people(mvor_args: list[str], tmp_path: Path) -> None:
    scores = {}
    for name, extra in (("all", ["--no-support"]), ("supported", [])):
        out = tmp_path / f"{name}.json"
        assert main([*mvor_args, "--all-cores", "--timing-repeats", "1", "--json", str(out), *extra]) == 0
        scores[name] = json.loads(out.read_text())
    before, after = scores["all"], scores["supported"]
    assert after["false_people_per_frame"]["all"] < before["false_people_per_frame"]["all"]
    assert after["splits"]["all"]["found"] <= before["splits"]["all"]["found"]
    assert after["output"]["support"] != "none"
    assert before["output"]["support"] == "none"


def test_a_bad_output_policy_is_one_line_exit_2(mvor_args: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main([*mvor_args, "--all-cores", "--timing-repeats", "1", "--min-views", "0"]) == 2
    assert "min_views must be >= 1" in capsys.readouterr().err


def test_distance_study(mvor_args: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.json"
    assert main([*mvor_args, "--all-cores", "--timing-repeats", "1", "--distance-study", "--json", str(out)]) == 0
    study = json.loads(out.read_text())["distance_study"]
    assert sum(b["person_views"] for b in study) == 202  # every ground-truth person in every camera annotating it
    assert all(0.0 <= b["found_percent"] <= 100.0 and b["missed_nothing_near"] <= b["missed"] for b in study)
    assert [b["distance_m"][0] for b in study] == sorted(b["distance_m"][0] for b in study)
    assert "| person-views |" in capsys.readouterr().out
