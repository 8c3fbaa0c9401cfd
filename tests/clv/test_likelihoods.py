"""Properties of the CLV log-likelihoods that do not depend on any fit, and what a fit
that the data cannot identify returns."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.integrate import quad

from rfm_spark.clv import fitting, likelihoods

X = np.array([0.0, 1, 3, 7])
T_X = np.array([0.0, 2, 10, 30])
T = np.array([5.0, 20, 30, 38])


def test_bgnbd_without_repeat_purchases_is_the_nbd_zero_count():
    """x = 0: P(no purchase in (0, T]) = (alpha / (alpha + T))^r times the chance of
    never dropping out before a purchase (1 for x = 0 in BG/NBD)."""
    r, alpha = 0.25, 4.4
    got = likelihoods.bgnbd((r, alpha, 0.8, 2.4), np.zeros(1), np.zeros(1), np.array([30.0]))
    assert got[0] == pytest.approx(r * np.log(alpha / (alpha + 30.0)))


def test_pareto_nbd_is_continuous_across_its_two_hypergeometric_forms():
    """alpha >= beta and alpha < beta use different 2F1 forms; at alpha = beta they meet."""
    below = likelihoods.pareto_nbd((0.5, 10.0 - 1e-7, 0.6, 10.0), X, T_X, T)
    above = likelihoods.pareto_nbd((0.5, 10.0 + 1e-7, 0.6, 10.0), X, T_X, T)
    equal = likelihoods.pareto_nbd((0.5, 10.0, 0.6, 10.0), X, T_X, T)
    assert np.allclose(below, equal, rtol=1e-6) and np.allclose(above, equal, rtol=1e-6)
    assert np.all(np.isfinite(equal)) and np.all(equal < 0)


@pytest.mark.parametrize("x", [1, 3, 10])
def test_gamma_gamma_is_a_density_of_the_mean_spend(x):
    total, _ = quad(lambda m: np.exp(likelihoods.gamma_gamma((6.25, 3.74, 15.44), x, m)),
                    0, np.inf)
    assert total == pytest.approx(1.0, abs=1e-6)


def test_a_fit_the_data_cannot_identify_is_not_converged():
    nobody_came_back = fitting.Frequencies(np.zeros(3), np.zeros(3), np.array([10.0, 20, 30]),
                                           np.array([5.0, 5, 5]))
    for fit in (fitting.fit_bgnbd, fitting.fit_pareto_nbd):
        fitted = fit(nobody_came_back)
        assert not fitted.converged and "bound" in fitted.message
    empty = fitting.fit_gamma_gamma(fitting.Spends.of([]))
    assert (empty.converged, empty.customers, empty.message) == (False, 0, "no customers to fit")


def test_gamma_gamma_does_not_depend_on_the_currency_unit():
    """Spends in cents instead of dollars: same p and q, gamma x 100, and the reported
    log-likelihood is the density in the data's own units."""
    rng = np.random.default_rng(5)
    x = rng.integers(1, 8, 300).astype(float)
    nu = rng.gamma(4.0, 1 / 60.0, 300)
    spend = rng.gamma(3.0 * x, 1 / (nu * x)) / 1.0
    dollars = fitting.fit_gamma_gamma(fitting.Spends(x, spend, np.ones(300)))
    cents = fitting.fit_gamma_gamma(fitting.Spends(x, spend * 100, np.ones(300)))
    assert dollars.converged and cents.converged
    assert cents.params["p"] == pytest.approx(dollars.params["p"], rel=1e-4)
    assert cents.params["q"] == pytest.approx(dollars.params["q"], rel=1e-4)
    assert cents.params["gamma"] == pytest.approx(100 * dollars.params["gamma"], rel=1e-4)
    direct = float(np.sum(likelihoods.gamma_gamma(tuple(dollars.params.values()), x, spend)))
    assert dollars.log_likelihood == pytest.approx(direct, abs=1e-6)
    assert cents.log_likelihood == pytest.approx(direct - 300 * np.log(100), abs=1e-6)


def test_gamma_gamma_without_differences_between_customers_is_the_limit_model():
    """One spend rate for every customer (nu = 1/50): the likelihood grows as q -> infinity
    with gamma / q fixed, and the fit reports that limit, whose expected spend is the
    population mean, instead of failing."""
    rng = np.random.default_rng(3)
    x = rng.integers(1, 8, 400).astype(float)
    spend = rng.gamma(3.0 * x, 1 / (x / 50.0))
    fitted = fitting.fit_gamma_gamma(fitting.Spends(x, spend, np.ones(400)))
    assert fitted.converged and "limit model" in fitted.message
    p, q, gamma = fitted.params.values()
    assert q == pytest.approx(np.exp(fitting.LOG_BOUND), rel=1e-3)
    assert p * gamma / (q - 1) == pytest.approx(150, rel=0.05)  # the true mean: 3 x 50
