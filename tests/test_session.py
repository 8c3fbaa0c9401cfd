"""A run's shuffle partitions follow the size of its input, within the session's value."""

from __future__ import annotations

import pytest

from rfm_spark.session import SHUFFLE_PARTITIONS, shuffle_partitions_for, shuffle_partitions_sized

MB = 2**20


@pytest.mark.parametrize("input_bytes, partition_mb, ceiling, expected", [
    (0, 24, 64, 2),  # an empty landing: the floor
    (int(1.6 * MB), 24, 64, 2),  # the 10k-order sample
    (24 * MB, 24, 64, 2),
    (24 * MB * 2 + 1, 24, 64, 3),  # one byte past two partitions' worth
    (152 * MB, 24, 64, 7),  # 1M orders
    (1536 * MB, 24, 64, 64),  # 10M orders: the session's value is the ceiling
    (1536 * MB, 24, 16, 16),
    (5 * MB, 24, 1, 1),  # a session set to one partition keeps it
])
def test_one_partition_per_chunk_of_input_within_floor_and_ceiling(input_bytes, partition_mb,
                                                                    ceiling, expected):
    assert shuffle_partitions_for(input_bytes, partition_mb, ceiling) == expected


@pytest.fixture
def session_with_64(spark):
    before = spark.conf.get(SHUFFLE_PARTITIONS)
    spark.conf.set(SHUFFLE_PARTITIONS, "64")
    yield spark
    spark.conf.set(SHUFFLE_PARTITIONS, before)


def test_sized_within_the_block_and_restored_after(session_with_64):
    spark = session_with_64
    with shuffle_partitions_sized(spark, 100 * MB, 24):
        assert spark.conf.get(SHUFFLE_PARTITIONS) == "5"
    assert spark.conf.get(SHUFFLE_PARTITIONS) == "64"
    with pytest.raises(RuntimeError), shuffle_partitions_sized(spark, 0, 24):
        assert spark.conf.get(SHUFFLE_PARTITIONS) == "2"
        raise RuntimeError("a failed run restores it too")
    assert spark.conf.get(SHUFFLE_PARTITIONS) == "64"


@pytest.mark.parametrize("input_bytes, partition_mb", [
    (None, 24),  # a Delta or catalog source: size unknown
    (100 * MB, 0),  # switched off in the config
])
def test_unknown_size_or_switched_off_keeps_the_session_value(session_with_64, input_bytes,
                                                              partition_mb):
    with shuffle_partitions_sized(session_with_64, input_bytes, partition_mb):
        assert session_with_64.conf.get(SHUFFLE_PARTITIONS) == "64"
