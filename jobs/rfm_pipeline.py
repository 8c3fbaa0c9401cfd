"""spark-submit entry point: the same options as `rfm-spark run`.

    spark-submit --packages io.delta:delta-spark_2.13:4.0.0 \
      --conf spark.sql.extensions=io.delta.sql.DeltaSparkSessionExtension \
      --conf spark.sql.catalog.spark_catalog=org.apache.spark.sql.delta.catalog.DeltaCatalog \
      --py-files rfm_spark-0.1.0-py3-none-any.whl \
      jobs/rfm_pipeline.py --config conf/cluster.yaml
"""

import sys

from rfm_spark.cli import main

if __name__ == "__main__":
    sys.exit(main(["run", *sys.argv[1:]]))
