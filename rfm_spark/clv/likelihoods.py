"""Log-likelihoods of the CLV models, one value per row of sufficient statistics.

Written in their numerically stable forms (`gammaln`, `logaddexp`, log-space `hyp2f1`
differences), vectorised over numpy arrays, so the fit runs on the grouped statistics the
driver receives. Parameters are positive; the fitter guarantees it.

- BG/NBD: Fader, Hardie & Lee (2005), "Counting your customers the easy way",
  Marketing Science 24(2), equation (6).
- Pareto/NBD: Schmittlein, Morrison & Colombo (1987), in the form of Fader & Hardie (2005),
  "A note on deriving the Pareto/NBD model and related expressions", equation (19).
- Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma model of monetary value": the
  density of a customer's mean spend over x transactions.
"""

from __future__ import annotations

import numpy as np
from scipy.special import gammaln, hyp2f1


def bgnbd(params, x, t_x, T):
    """BG/NBD log-likelihood of (x repeat purchases, recency t_x, tenure T) in weeks."""
    r, alpha, a, b = params
    fitted = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    dropout = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    alive_at_T = -(r + x) * np.log(alpha + T)
    # only a customer with a repeat purchase can have dropped out after the last one
    with np.errstate(divide="ignore", invalid="ignore"):
        died_after_t_x = np.where(
            x > 0,
            np.log(a) - np.log(b + np.maximum(x, 1) - 1) - (r + x) * np.log(alpha + t_x),
            -np.inf,
        )
    return fitted + dropout + np.logaddexp(alive_at_T, died_after_t_x)


def pareto_nbd_a0(r, alpha, s, beta, x, t_x, T):
    """log A0 of the Pareto/NBD likelihood: F(t_x) - F(T) >= 0 in log space, with the
    2F1 form that converges for alpha >= beta or alpha < beta; -inf when t_x == T."""
    rsx = r + s + x
    larger = max(alpha, beta)
    gap = abs(alpha - beta)
    second = (s + 1) if alpha >= beta else (r + x)
    with np.errstate(divide="ignore", invalid="ignore"):
        at_t_x = np.log(hyp2f1(rsx, second, rsx + 1, gap / (larger + t_x))) \
            - rsx * np.log(larger + t_x)
        at_T = np.log(hyp2f1(rsx, second, rsx + 1, gap / (larger + T))) \
            - rsx * np.log(larger + T)
        return at_t_x + np.log1p(-np.exp(at_T - at_t_x))


def pareto_nbd(params, x, t_x, T):
    """Pareto/NBD log-likelihood of (x, t_x, T) in weeks."""
    r, alpha, s, beta = params
    alive_at_T = -(r + x) * np.log(alpha + T) - s * np.log(beta + T)
    died_between = (np.log(s) - np.log(r + s + x)
                    + pareto_nbd_a0(r, alpha, s, beta, x, t_x, T))
    return (gammaln(r + x) - gammaln(r) + r * np.log(alpha) + s * np.log(beta)
            + np.logaddexp(alive_at_T, died_between))


def gamma_gamma(params, x, mean_spend):
    """Gamma-Gamma log-likelihood of a mean spend over x (> 0) repeat transactions."""
    p, q, gamma = params
    px = p * x
    return (gammaln(px + q) - gammaln(px) - gammaln(q) + q * np.log(gamma)
            + (px - 1) * np.log(mean_spend) + px * np.log(x)
            - (px + q) * np.log(x * mean_spend + gamma))
