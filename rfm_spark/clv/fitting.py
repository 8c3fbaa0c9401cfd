"""Maximum-likelihood fits of the CLV models on the driver, from grouped statistics.

The driver never sees a row per customer: Spark groups customers with identical statistics
and sends (statistics, customers) rows, and every log-likelihood is weighted by the count.
Parameters are fitted on the log scale (so they stay positive) within [e^-12, e^12]; a fit
that the optimiser does not report as converged, or that ends on a bound or at a
non-finite likelihood, is returned with `converged=False` and the reason in `message`.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import numpy as np
from scipy.optimize import minimize

from rfm_spark.clv import likelihoods

LOG_BOUND = 12.0  # parameters within [e^-12, e^12]
PARAMETERS = {
    "bgnbd": ("r", "alpha", "a", "b"),
    "pareto_nbd": ("r", "alpha", "s", "beta"),
    "gamma_gamma": ("p", "q", "gamma"),
}


DAYS_PER_WEEK = 7.0


@dataclass(frozen=True)
class Frequencies:
    """Repeat purchases x, recency t_x and tenure T (weeks), and how many customers have
    each combination."""

    x: np.ndarray
    t_x: np.ndarray
    T: np.ndarray
    customers: np.ndarray

    @staticmethod
    def of(rows: Iterable[Sequence[float]]) -> Frequencies:
        """From (x, recency days, tenure days, customers) rows, e.g. a collected
        frequency_groups frame."""
        table = np.array([tuple(row) for row in rows], dtype=float).reshape(-1, 4)
        x, recency_days, tenure_days, customers = table.T
        return Frequencies(x, recency_days / DAYS_PER_WEEK, tenure_days / DAYS_PER_WEEK,
                           customers)


@dataclass(frozen=True)
class Spends:
    """Repeat purchases x (> 0), mean repeat spend, and how many customers have each."""

    x: np.ndarray
    mean_spend: np.ndarray
    customers: np.ndarray

    @staticmethod
    def of(rows: Iterable[Sequence[float]]) -> Spends:
        """From (x, mean spend, customers) rows, e.g. a collected spend_groups frame."""
        table = np.array([tuple(row) for row in rows], dtype=float).reshape(-1, 3)
        return Spends(*table.T)


@dataclass(frozen=True)
class FittedModel:
    model: str
    params: dict[str, float]
    log_likelihood: float
    customers: int
    converged: bool
    message: str = ""


def fit_purchases(model: str, data: Frequencies) -> FittedModel:
    """The purchase model named `model` (bgnbd | pareto_nbd) fitted to `data`."""
    return {"bgnbd": fit_bgnbd, "pareto_nbd": fit_pareto_nbd}[model](data)


def fit_bgnbd(data: Frequencies) -> FittedModel:
    return _fit("bgnbd", lambda p: likelihoods.bgnbd(p, data.x, data.t_x, data.T),
                data.customers)


def fit_pareto_nbd(data: Frequencies) -> FittedModel:
    return _fit("pareto_nbd", lambda p: likelihoods.pareto_nbd(p, data.x, data.t_x, data.T),
                data.customers)


def fit_gamma_gamma(data: Spends) -> FittedModel:
    """Fitted on spends in units of their mean (gamma scales with the currency: cents or
    yen would push it past its bound), reported in the data's own units.

    Fitted as (p, q, theta = gamma / q): when customers' spend rates do not differ, the
    likelihood grows without end as q -> infinity with gamma / q fixed. That limit is a
    proper model (one spend rate for all: every customer's expected spend is the population
    mean); q ending on its upper bound is reported as that limit, not as a failure."""
    if data.customers.sum() == 0:
        return _fit("gamma_gamma", lambda p: np.zeros(0), data.customers)
    unit = float(np.dot(data.customers, data.mean_spend) / data.customers.sum())

    def log_likelihood(params):
        p, q, theta = params
        return likelihoods.gamma_gamma((p, q, q * theta), data.x, data.mean_spend / unit)

    fitted = _fit("gamma_gamma", log_likelihood, data.customers, names=("p", "q", "theta"),
                  limit_at_upper="q")
    if not fitted.params:
        return fitted
    p, q, theta = (fitted.params[k] for k in ("p", "q", "theta"))
    # the density of a spend in the data's units: minus log(unit) per customer
    log_lik = float(fitted.log_likelihood - data.customers.sum() * np.log(unit))
    return dataclasses.replace(fitted, params={"p": p, "q": q, "gamma": q * theta * unit},
                               log_likelihood=log_lik)


def _fit(model: str, log_likelihood: Callable[[np.ndarray], np.ndarray],
         customers: np.ndarray, names: Sequence[str] | None = None,
         limit_at_upper: str | None = None) -> FittedModel:
    """`limit_at_upper`: a parameter whose upper bound is a limit of the model (reported
    as such, converged) rather than a sign that the data do not identify it."""
    names = tuple(names or PARAMETERS[model])
    total = int(customers.sum())
    if total == 0:
        return FittedModel(model, {}, float("nan"), 0, False, "no customers to fit")

    def negative(log_params: np.ndarray) -> float:
        with np.errstate(all="ignore"):
            value = -float(np.dot(customers, log_likelihood(np.exp(log_params))))
        return value if np.isfinite(value) else 1e300

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(names)
    result = minimize(negative, np.zeros(len(names)), method="L-BFGS-B", bounds=bounds,
                      options={"maxiter": 2000})
    # Nelder-Mead from there: the likelihoods are flat along some ridges, where gradient
    # steps stop early; the simplex settles the last digits.
    result = minimize(negative, result.x, method="Nelder-Mead", bounds=bounds,
                      options={"xatol": 1e-7, "fatol": 1e-7, "maxiter": 20000,
                               "maxfev": 20000})
    params = {name: float(v) for name, v in zip(names, np.exp(result.x), strict=True)}
    log_lik = -float(result.fun)
    on_bound = [name for name, v in zip(names, result.x, strict=True)
                if abs(v) >= LOG_BOUND - 1e-3]
    if limit_at_upper and on_bound == [limit_at_upper] and result.x[
            names.index(limit_at_upper)] > 0 and result.success:
        return FittedModel(model, params, log_lik, total, True,
                           f"{limit_at_upper} at its upper bound: the limit model")
    message = _not_converged(result, log_lik)
    return FittedModel(model, params, log_lik, total, not message, message)


def _not_converged(result, log_lik: float) -> str:
    if not result.success:
        return f"the optimiser did not converge: {result.message}"
    if not np.isfinite(log_lik) or log_lik <= -1e299:
        return "the log-likelihood is not finite at the optimum"
    if np.any(np.abs(result.x) >= LOG_BOUND - 1e-3):
        return ("a parameter ended on its bound (e^-12 or e^12): the data do not identify "
                "the model")
    return ""
