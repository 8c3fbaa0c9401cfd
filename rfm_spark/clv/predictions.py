"""What a fitted model predicts for a customer with statistics (x, t_x, T), computed once
per distinct combination on the driver (the special functions are numpy/scipy), then
joined back to the customers in Spark.

- BG/NBD: P(alive) and E[Y(t) | x, t_x, T], Fader, Hardie & Lee (2005) equations (10)-(13).
- Pareto/NBD: P(alive) and E[Y(t) | x, t_x, T], Fader & Hardie (2005) note, equations
  (18) and (22).
(The Gamma-Gamma expected spend is a plain column expression: rfm_spark/clv/mart.py.)
"""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
from scipy.special import expit, hyp2f1

from rfm_spark.clv.fitting import Frequencies
from rfm_spark.clv.likelihoods import pareto_nbd_a0

WEEKS_PER_MONTH = 4.345


def bgnbd_p_alive(params: Mapping[str, float], x, t_x, T):
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_ratio = (np.log(a) - np.log(b + np.maximum(x, 1) - 1)
                     + (r + x) * (np.log(alpha + T) - np.log(alpha + t_x)))
    return np.where(x > 0, expit(-log_ratio), 1.0)


def bgnbd_expected(params: Mapping[str, float], x, t_x, T, t: float):
    """Repeat purchases expected in the t weeks after T."""
    r, alpha, a, b = (params[k] for k in ("r", "alpha", "a", "b"))
    if t <= 0:
        return np.zeros_like(np.asarray(x, dtype=float))
    z = t / (alpha + T + t)
    shrink = np.exp((r + x) * (np.log(alpha + T) - np.log(alpha + T + t)))
    within = 1.0 - shrink * hyp2f1(r + x, b + x, a + b + x - 1, z)
    return (a + b + x - 1) / (a - 1) * within * bgnbd_p_alive(params, x, t_x, T)


def pareto_nbd_p_alive(params: Mapping[str, float], x, t_x, T):
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    with np.errstate(divide="ignore", invalid="ignore"):
        log_ratio = (np.log(s) - np.log(r + s + x) + (r + x) * np.log(alpha + T)
                     + s * np.log(beta + T) + pareto_nbd_a0(r, alpha, s, beta, x, t_x, T))
    return expit(-log_ratio)


def pareto_nbd_expected(params: Mapping[str, float], x, t_x, T, t: float):
    r, alpha, s, beta = (params[k] for k in ("r", "alpha", "s", "beta"))
    if t <= 0:
        return np.zeros_like(np.asarray(x, dtype=float))
    if abs(s - 1.0) < 1e-9:  # the limit s -> 1 of the general form
        remaining = np.log((beta + T + t) / (beta + T))
    else:
        remaining = (1.0 - ((beta + T) / (beta + T + t)) ** (s - 1)) / (s - 1)
    return ((r + x) * (beta + T) / (alpha + T) * remaining
            * pareto_nbd_p_alive(params, x, t_x, T))


P_ALIVE = {"bgnbd": bgnbd_p_alive, "pareto_nbd": pareto_nbd_p_alive}
EXPECTED = {"bgnbd": bgnbd_expected, "pareto_nbd": pareto_nbd_expected}


def group_predictions(model: str, params: Mapping[str, float], groups: Frequencies,
                      horizon_months: int, discount_rate_monthly: float) -> dict[str, np.ndarray]:
    """Per group: p_alive, expected_purchases over the horizon, and the discounted sum of
    each month's expected purchases (what clv multiplies by the expected spend):
    sum_i (E[X(4.345 i)] - E[X(4.345 (i - 1))]) / (1 + d)^i."""
    x, t_x, T = groups.x, groups.t_x, groups.T
    expected = EXPECTED[model]
    cumulative = [np.zeros_like(x)] + [
        expected(params, x, t_x, T, WEEKS_PER_MONTH * month)
        for month in range(1, horizon_months + 1)]
    discounted = sum((cumulative[i] - cumulative[i - 1]) / (1 + discount_rate_monthly) ** i
                     for i in range(1, horizon_months + 1))
    return {"p_alive": P_ALIVE[model](params, x, t_x, T), "expected_purchases": cumulative[-1],
            "discounted_purchases": np.asarray(discounted, dtype=float)}
