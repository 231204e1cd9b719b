"""The compiled loops of the single-camera skeleton fit, each against the least-squares problem its docstring
states, written out with numpy."""

from __future__ import annotations

import numpy as np
import pytest

from orpose_ros.geometry.body_model import standing_template_coco
from orpose_ros.geometry.placement import _fit_people, _gauss_newton, _linear_fit, _solve4


def scratch() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    return np.empty((4, 4)), np.empty(4), np.empty(4), np.empty(4)


def fit_problem(seed: int = 0) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Normalised keypoints of the template about 3 m away with noise, row weights (two 0, one exactly 1) and two
    prior rows (scale and a plane)."""
    rng = np.random.default_rng(seed)
    skel = standing_template_coco() @ np.array([[1.0, 0.0, 0.0], [0.0, 0.0, 1.0], [0.0, -1.0, 0.0]])  # camera axes
    X = 1.05 * skel + np.array([0.3, -0.2, 3.0])
    xy = X[:, :2] / X[:, 2:] + rng.normal(0.0, 0.02, (17, 2))
    w = rng.uniform(5.0, 20.0, 17)
    w[[2, 9]] = 0.0
    w[4] = 1.0
    prior_rows = np.array([[0.0, 0.0, 0.0, 20.0], [0.1, -19.0, 0.3, -18.0]])
    prior_rhs = np.array([20.0, -13.0])
    return xy, skel, w, prior_rows, prior_rhs


def stacked_system(xy: np.ndarray, skel: np.ndarray, w: np.ndarray, prior_rows: np.ndarray,
                   prior_rhs: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """A (2J + R, 4) and b: the rows w (1, 0, -x, S_x - x S_z) and w (0, 1, -y, S_y - y S_z) = 0, and the priors."""
    ones, zeros = np.ones(17), np.zeros(17)
    a_x = np.stack([ones, zeros, -xy[:, 0], skel[:, 0] - xy[:, 0] * skel[:, 2]], axis=1) * w[:, None]
    a_y = np.stack([zeros, ones, -xy[:, 1], skel[:, 1] - xy[:, 1] * skel[:, 2]], axis=1) * w[:, None]
    return np.concatenate([a_x, a_y, prior_rows]), np.concatenate([np.zeros(34), prior_rhs])


def test_solve4_pivots_past_zeros_on_the_diagonal() -> None:
    M = np.array([[0.0, 2.0, 0.0, 0.0], [1.0, 0.0, 0.0, 1.0], [0.0, 0.0, 0.0, 3.0], [0.0, 1.0, 4.0, 0.0]])
    x_true = np.array([1.0, -2.0, 0.5, 3.0])
    x = np.empty(4)
    _solve4(M.copy(), M @ x_true, x)
    np.testing.assert_allclose(x, x_true, rtol=0.0, atol=1e-12)


def test_solve4_agrees_with_numpy_on_general_systems() -> None:
    rng = np.random.default_rng(1)
    for _ in range(20):
        M, v = rng.normal(size=(4, 4)), rng.normal(size=4)
        x = np.empty(4)
        _solve4(M.copy(), v.copy(), x)
        np.testing.assert_allclose(x, np.linalg.solve(M, v), rtol=1e-9, atol=1e-9)


def test_solve4_gives_non_finite_values_for_a_singular_matrix() -> None:
    x = np.empty(4)
    _solve4(np.zeros((4, 4)), np.ones(4), x)
    assert not np.isfinite(x).any()


def test_the_linear_fit_is_the_least_squares_solution_and_its_cost() -> None:
    xy, skel, w, prior_rows, prior_rhs = fit_problem()
    M, v, row, theta = scratch()
    cost = _linear_fit(xy, skel, w, prior_rows, prior_rhs, M, v, row, theta)
    A, b = stacked_system(xy, skel, w, prior_rows, prior_rhs)
    expected = np.linalg.lstsq(A, b, rcond=None)[0]
    np.testing.assert_allclose(theta, expected, rtol=1e-9)
    assert cost == pytest.approx(float(np.sum((A @ expected - b) ** 2)), rel=1e-9)
    assert cost > 1.0  # the noise leaves a residual: the comparison above is not of zeros


def gauss_newton_step(xy: np.ndarray, skel: np.ndarray, w: np.ndarray, prior_rows: np.ndarray,
                      prior_rhs: np.ndarray, theta: np.ndarray, huber_m: float) -> np.ndarray:
    """One step of `_gauss_newton`'s docstring: residuals (proj - xy) * depth [m], Jacobian with depth held,
    weights w^2 times the Huber factor, plus the prior rows."""
    t, scale = theta[:3], theta[3]
    X = scale * skel + t
    z = np.maximum(X[:, 2], 0.1)
    proj = X[:, :2] / z[:, None]
    depth = max(t[2], 0.1)
    residual = (proj - xy) * depth
    size = np.linalg.norm(residual, axis=1)
    weight = w**2 * np.where(size > huber_m, huber_m / np.maximum(size, 1e-12), 1.0)
    f = depth / z
    jac = np.zeros((17, 2, 4))
    jac[:, 0, 0] = jac[:, 1, 1] = f
    jac[:, :, 2] = -proj * f[:, None]
    jac[:, :, 3] = (skel[:, :2] - proj * skel[:, 2:]) * f[:, None]
    H = np.einsum("j,jak,jal->kl", weight, jac, jac) + prior_rows.T @ prior_rows
    g = np.einsum("j,jak,ja->k", weight, jac, residual) + prior_rows.T @ (prior_rows @ theta - prior_rhs)
    return theta - np.linalg.solve(H + 1e-12 * np.eye(4), g)


@pytest.mark.parametrize("iterations", [1, 2])
def test_gauss_newton_steps_follow_the_stated_problem(iterations: int) -> None:
    xy, skel, w, prior_rows, prior_rhs = fit_problem(seed=2)
    xy[7] += 0.2  # one keypoint far off: its residual is beyond the Huber threshold
    theta = np.array([0.25, -0.1, 2.8, 1.0])
    expected = theta.copy()
    for _ in range(iterations):
        expected = gauss_newton_step(xy, skel, w, prior_rows, prior_rhs, expected, 0.1)
    M, v, row, step = scratch()
    _gauss_newton(xy, skel, w, prior_rows, prior_rhs, iterations, 0.1, M, v, row, step, theta)
    np.testing.assert_allclose(theta, expected, rtol=1e-9)
    assert np.abs(expected - [0.25, -0.1, 2.8, 1.0]).max() > 1e-3  # the steps move theta


def test_the_fit_takes_the_candidate_of_least_linear_cost_first_of_equals() -> None:
    xy, skel, w, prior_rows, prior_rhs = fit_problem(seed=3)
    turned = skel @ np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])  # about the vertical axis
    cases = {0: [skel, turned, turned], 2: [turned, turned, skel], 1: [turned, skel, skel]}
    for best_index, candidates in cases.items():
        theta, best = _fit_people(xy[None], np.stack(candidates)[None], w[None], prior_rows[None], prior_rhs[None],
                                  np.zeros(1, dtype=bool), 2, 0.1)
        assert best[0] == best_index
    M, v, row, expected = scratch()
    _linear_fit(xy, skel, w, prior_rows, prior_rhs, M, v, row, expected)
    _gauss_newton(xy, skel, w, prior_rows, prior_rhs, 2, 0.1, M, v, row, np.empty(4), expected)
    np.testing.assert_array_equal(theta[0], expected)


def test_a_measured_skeleton_is_its_only_candidate() -> None:
    xy, skel, w, prior_rows, prior_rhs = fit_problem(seed=4)
    turned = skel @ np.array([[0.0, 0.0, -1.0], [0.0, 1.0, 0.0], [1.0, 0.0, 0.0]])
    candidates = np.stack([turned, skel, skel])[None]  # the better fits after the first are not tried
    theta, best = _fit_people(xy[None], candidates, w[None], prior_rows[None], prior_rhs[None], np.ones(1, dtype=bool),
                              0, 0.1)
    M, v, row, expected = scratch()
    assert _linear_fit(xy, turned, w, prior_rows, prior_rhs, M, v, row, expected) > _linear_fit(
        xy, skel, w, prior_rows, prior_rhs, M, v, row, np.empty(4))
    _linear_fit(xy, turned, w, prior_rows, prior_rhs, M, v, row, expected)
    assert best[0] == 0
    np.testing.assert_array_equal(theta[0], expected)
