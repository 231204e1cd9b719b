"""Is the stated joint uncertainty honest? Real errors against their stated covariances.

For a joint with error ``e = estimate - truth`` (3,) [m] and stated covariance ``S`` (3, 3) [m^2], the
whitened error ``z = L^-1 e`` (``S = L L^T``) has independent standard normal components when the
uncertainty is calibrated: 68.3 % of them within 1 (one stated sigma) and 95.4 % within 2. Its norm, the
Mahalanobis distance, is then chi-distributed with 3 degrees of freedom: 19.9 % within 1, 73.9 % within 2.
Fractions below those say the stated uncertainty is too small (over-confident), above: too large.
"""

from __future__ import annotations

import numpy as np
from scipy.special import erf
from scipy.stats import chi

#: Fractions of a standard normal within 1 and 2 sigmas, and of a 3D Mahalanobis distance within 1 and 2.
EXPECTED_PER_AXIS = (float(erf(1 / np.sqrt(2))), float(erf(2 / np.sqrt(2))))
EXPECTED_MAHALANOBIS = (float(chi.cdf(1.0, 3)), float(chi.cdf(2.0, 3)))


def whitened_errors(errors_m: np.ndarray, covariances_m2: np.ndarray) -> np.ndarray:
    """(N, 3) errors [m] whitened by their (N, 3, 3) covariances [m^2] (unitless); NaN rows where either is
    not finite."""
    errors_m = np.asarray(errors_m, dtype=np.float64).reshape(-1, 3)
    covariances_m2 = np.asarray(covariances_m2, dtype=np.float64).reshape(-1, 3, 3)
    ok = np.all(np.isfinite(errors_m), axis=1) & np.all(np.isfinite(covariances_m2), axis=(1, 2))
    z = np.full(errors_m.shape, np.nan)
    z[ok] = np.linalg.solve(np.linalg.cholesky(covariances_m2[ok]), errors_m[ok][..., None])[..., 0]
    return z


def calibration_summary(errors_m: np.ndarray, covariances_m2: np.ndarray) -> dict[str, float | int]:
    """Joints counted (error and covariance known), their median error [cm], and the fractions [%] of whitened
    error components and of Mahalanobis distances within 1 and 2 stated sigmas (expected when calibrated:
    ``EXPECTED_PER_AXIS``, ``EXPECTED_MAHALANOBIS``)."""
    z = whitened_errors(errors_m, covariances_m2)
    ok = np.all(np.isfinite(z), axis=1)
    if not ok.any():
        return {"joints": 0}
    z = z[ok]
    distance = np.linalg.norm(z, axis=1)
    errors_m = np.asarray(errors_m, dtype=np.float64).reshape(-1, 3)[ok]

    def percent(mask: np.ndarray) -> float:
        return round(100.0 * float(np.mean(mask)), 1)

    return {
        "joints": int(ok.sum()),
        "median_error_cm": round(100.0 * float(np.median(np.linalg.norm(errors_m, axis=1))), 1),
        "per_axis_within_1_sigma_percent": percent(np.abs(z) <= 1.0),
        "per_axis_within_2_sigma_percent": percent(np.abs(z) <= 2.0),
        "mahalanobis_within_1_percent": percent(distance <= 1.0),
        "mahalanobis_within_2_percent": percent(distance <= 2.0),
    }
