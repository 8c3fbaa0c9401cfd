"""The MERGE clauses as text: values named in a statement are SQL literals that Spark reads
back as the same values (on a real session), whatever quotes they hold."""

from __future__ import annotations

import pytest

from rfm_spark.io.merge_statements import replace_named_groups, sql_literal

AWKWARD = ["plain", "it's", "back\\slash", "both\\'", "", "ünï", None, 7, True]


def test_literals_read_back_as_the_same_values(spark):
    text = ", ".join(f"{sql_literal(v)} AS c{i}" for i, v in enumerate(AWKWARD))
    assert list(spark.sql(f"SELECT {text}").first()) == AWKWARD


def test_values_without_a_literal_are_refused():
    with pytest.raises(TypeError, match="no SQL literal"):
        sql_literal(1.5)


def test_named_groups_are_deleted_only_where_the_source_lacks_them():
    clauses = replace_named_groups(["k", "g", "v"], "g", ["k"], ["g1", "it's"])
    assert "WHEN NOT MATCHED BY SOURCE AND t.`g` IN ('g1', 'it\\'s') THEN DELETE" in clauses
    assert "UPDATE SET `k` = s.`k`, `g` = s.`g`, `v` = s.`v`" in clauses
    assert "NOT (t.`g` <=> s.`g`) OR NOT (t.`v` <=> s.`v`)" in clauses
