"""marts/customer_lifetime_value: every customer with counted orders at as_of, scored by
the fitted models (CONTRACT section 4).

The per-group predictions (P(alive), expected purchases, the discounted horizon sum) come
from the driver keyed by (x, recency days, tenure days) and are joined back here; the
Gamma-Gamma expected spend is a column expression of the customer's own mean spend.
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from rfm_spark.clv.fitting import DAYS_PER_WEEK
from rfm_spark.clv.predictions import WEEKS_PER_MONTH
from rfm_spark.clv.statistics import FREQUENCY_KEYS
from rfm_spark.config.schema import PAliveBands
from rfm_spark.intermediate.customer_order_summary import MONEY

COLUMNS = ("customer_id", "as_of_date", "repeat_purchases", "recency_weeks", "tenure_weeks",
           "avg_repeat_spend", "p_alive", "expected_purchases", "horizon_weeks",
           "expected_avg_spend", "clv", "p_alive_band")
GROUP_SCORE_COLUMNS = (*FREQUENCY_KEYS, "p_alive", "expected_purchases",
                       "discounted_purchases")
LIKELY_LAPSED, UNCERTAIN, LIKELY_ALIVE = "Likely Lapsed", "Uncertain", "Likely Alive"


def p_alive_band(p_alive: Column, bands: PAliveBands) -> Column:
    return (F.when(p_alive < F.lit(bands.likely_lapsed), LIKELY_LAPSED)
            .when(p_alive >= F.lit(bands.likely_alive), LIKELY_ALIVE)
            .when(p_alive.isNotNull(), UNCERTAIN))


def gamma_gamma_expected_spend(spend: Mapping[str, float] | None) -> Column:
    """E[M | x, mean spend] = p (gamma + x mean) / (p x + q - 1): the population mean
    p gamma / (q - 1) for a customer without repeat purchases, tending to their own mean as
    they buy more. NULL without a usable fit (none, or q <= 1: no finite mean)."""
    if not spend or spend["q"] <= 1:
        return F.lit(None).cast("double")
    p, q, gamma = spend["p"], spend["q"], spend["gamma"]
    x = F.col("repeat_purchases").cast("double")
    own_total = F.coalesce(F.col("repeat_spend").cast("double"), F.lit(0.0))
    return F.lit(p) * (F.lit(gamma) + own_total) / (F.lit(p) * x + F.lit(q - 1))


def customer_lifetime_value(statistics: DataFrame, group_scores: DataFrame,
                            spend: Mapping[str, float] | None, horizon_months: int,
                            bands: PAliveBands) -> DataFrame:
    """`statistics`: clv_statistics(); `group_scores`: GROUP_SCORE_COLUMNS per group;
    `spend`: the Gamma-Gamma parameters (p, q, gamma), None when not fitted."""
    expected_spend = gamma_gamma_expected_spend(spend)
    scored = statistics.join(group_scores, on=list(FREQUENCY_KEYS), how="left")
    return scored.select(
        "customer_id",
        "as_of_date",
        "repeat_purchases",
        (F.col("recency_days") / DAYS_PER_WEEK).alias("recency_weeks"),
        (F.col("tenure_days") / DAYS_PER_WEEK).alias("tenure_weeks"),
        "avg_repeat_spend",
        "p_alive",
        "expected_purchases",
        F.lit(horizon_months * WEEKS_PER_MONTH).alias("horizon_weeks"),
        expected_spend.cast(MONEY).alias("expected_avg_spend"),
        (expected_spend * F.col("discounted_purchases")).cast(MONEY).alias("clv"),
        p_alive_band(F.col("p_alive"), bands).alias("p_alive_band"),
    )
