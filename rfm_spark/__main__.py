from rfm_spark.cli import main

raise SystemExit(main())
