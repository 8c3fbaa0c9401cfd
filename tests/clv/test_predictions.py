"""What the fitted models predict: the published BG/NBD example, the unconditional
expectations a new customer must get, and the discounted horizon sum."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.special import hyp2f1

from rfm_spark.clv import predictions
from rfm_spark.clv.fitting import Frequencies

BGNBD = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # CDNOW, Fader et al. 2005
PARETO = {"r": 0.553, "alpha": 10.578, "s": 0.606, "beta": 11.669}


def test_bgnbd_expected_purchases_of_the_papers_example_customer():
    """x = 2, t_x = 30.43, T = 38.86: 1.226 purchases expected in the next 39 weeks."""
    one = np.array([1.0])
    got = predictions.bgnbd_expected(BGNBD, 2 * one, 30.43 * one, 38.86 * one, 39.0)
    assert got[0] == pytest.approx(1.226, abs=5e-4)


def test_a_customer_who_just_arrived_gets_the_unconditional_expectation():
    zero, t = np.zeros(1), 39.0
    r, alpha, a, b = BGNBD.values()
    bgnbd = (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r
                                     * hyp2f1(r, b, a + b - 1, t / (alpha + t)))
    assert predictions.bgnbd_expected(BGNBD, zero, zero, zero, t)[0] == pytest.approx(bgnbd)
    r, alpha, s, beta = PARETO.values()
    pareto = r * beta / (alpha * (s - 1)) * (1 - (beta / (beta + t)) ** (s - 1))
    assert predictions.pareto_nbd_expected(PARETO, zero, zero, zero, t)[0] == \
        pytest.approx(pareto)


def test_p_alive_is_a_probability_that_falls_with_silence():
    x = np.array([0.0, 3, 3, 3])
    t_x = np.array([0.0, 10, 10, 10])
    T = np.array([30.0, 12, 30, 60])
    for model, params in (("bgnbd", BGNBD), ("pareto_nbd", PARETO)):
        alive = predictions.P_ALIVE[model](params, x, t_x, T)
        assert np.all((alive >= 0) & (alive <= 1))
        assert alive[1] > alive[2] > alive[3]  # longer since the last purchase: less alive
    assert predictions.bgnbd_p_alive(BGNBD, x, t_x, T)[0] == 1.0  # BG/NBD: no repeat yet


def test_the_discounted_horizon_sum_adds_up_the_months():
    groups = Frequencies(np.array([0.0, 2, 5]), np.array([0.0, 20, 30]),
                         np.array([38.0, 38, 38]), np.ones(3))
    for model, params in (("bgnbd", BGNBD), ("pareto_nbd", PARETO)):
        undiscounted = predictions.group_predictions(model, params, groups, 12, 0.0)
        assert np.allclose(undiscounted["discounted_purchases"],
                           undiscounted["expected_purchases"])
        horizon = predictions.EXPECTED[model](params, groups.x, groups.t_x, groups.T,
                                              12 * predictions.WEEKS_PER_MONTH)
        assert np.allclose(undiscounted["expected_purchases"], horizon)
        discounted = predictions.group_predictions(model, params, groups, 12, 0.01)
        assert np.all(discounted["discounted_purchases"] < horizon)
        assert np.all(discounted["discounted_purchases"] > horizon / 1.01 ** 12)
