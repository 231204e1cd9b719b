"""The uncertainty calibration check: errors drawn from the stated covariance score as calibrated, errors twice
as large do not; on MVOR day 1 orpose-eval-mvor --uncertainty reports it per joint group."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from fusion_data import mvor_file

from orpose_ros.cli.evaluate_mvor import main
from orpose_ros.fusion.uncertainty_calibration import (
    EXPECTED_MAHALANOBIS,
    EXPECTED_PER_AXIS,
    calibration_summary,
    whitened_errors,
)


def random_covariances(rng: np.random.Generator, n: int) -> np.ndarray:
    """(n, 3, 3) anisotropic covariances [m^2]: sigmas 2 cm to 40 cm along random axes."""
    axes = np.linalg.qr(rng.normal(size=(n, 3, 3)))[0]
    sigmas = rng.uniform(0.02, 0.4, size=(n, 3))
    return axes @ (sigmas[..., None] ** 2 * np.swapaxes(axes, -1, -2))


def test_errors_drawn_from_the_stated_covariance_are_calibrated_and_twice_as_large_are_not() -> None:
    rng = np.random.default_rng(1)
    covariances = random_covariances(rng, 20_000)
    errors = (np.linalg.cholesky(covariances) @ rng.normal(size=(20_000, 3, 1)))[..., 0]
    honest = calibration_summary(errors, covariances)
    assert honest["joints"] == 20_000
    assert honest["per_axis_within_1_sigma_percent"] == pytest.approx(100 * EXPECTED_PER_AXIS[0], abs=1.0)
    assert honest["per_axis_within_2_sigma_percent"] == pytest.approx(100 * EXPECTED_PER_AXIS[1], abs=1.0)
    assert honest["mahalanobis_within_1_percent"] == pytest.approx(100 * EXPECTED_MAHALANOBIS[0], abs=1.0)
    assert honest["mahalanobis_within_2_percent"] == pytest.approx(100 * EXPECTED_MAHALANOBIS[1], abs=1.0)
    over_confident = calibration_summary(2 * errors, covariances)
    assert over_confident["per_axis_within_1_sigma_percent"] == pytest.approx(38.3, abs=1.0)  # P(|z| < 0.5)


def test_whitening_and_unknown_rows() -> None:
    covariance = np.diag([0.04, 0.01, 0.25])  # sigmas 0.2, 0.1, 0.5 m
    z = whitened_errors(np.array([[0.2, -0.1, 1.0], [np.nan, 0.0, 0.0]]), np.stack([covariance, covariance]))
    np.testing.assert_allclose(z[0], [1.0, -1.0, 2.0])
    assert np.isnan(z[1]).all()
    assert calibration_summary(np.full((1, 3), np.nan), covariance[None]) == {"joints": 0}


def test_orpose_eval_mvor_reports_the_calibration_on_day_1(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out = tmp_path / "scores.json"
    assert main(["--annotations", str(mvor_file("camma_mvor_2018_day1.json")), "--detections",
                 str(mvor_file("openpose_kps_day1.json")), "--all-cores", "--timing-repeats", "1", "--uncertainty",
                 "--json", str(out)]) == 0
    assert "Stated joint uncertainty against MVOR's 3D ground truth" in capsys.readouterr().out
    calibration = json.loads(out.read_text())["uncertainty_calibration"]
    assert set(calibration) == {"all", "arms, 1 view", "arms, 2+ views", "hips, 1 view", "hips, 2+ views"}
    arms = calibration["arms, 2+ views"]
    assert arms["joints"] > 200
    assert arms["median_error_cm"] < calibration["arms, 1 view"]["median_error_cm"]
    assert 0 < arms["per_axis_within_1_sigma_percent"] <= arms["per_axis_within_2_sigma_percent"] <= 100
