"""Command line: `rfm-spark run` and `rfm-spark generate` (see the README and CONTRACT).

Only parses options, loads the config, gets a session and calls the package. Exit codes:
0 success, 1 an error-severity data-quality rule failed, 2 bad usage or configuration,
3 any other failure. A user error never ends in a bare traceback (--debug shows one).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING

from rfm_spark.errors import ConfigError, RfmError, root_cause

if TYPE_CHECKING:  # the CLI imports Spark only for the commands that use it
    from pyspark.sql import SparkSession

    from rfm_spark.config import Settings

log = logging.getLogger("rfm_spark.cli")


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # argparse's own exit code is 2 as well
        self.print_usage(sys.stderr)
        print(f"rfm-spark: error: {message}", file=sys.stderr)
        raise SystemExit(2)


def _date(text: str) -> dt.date:
    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date YYYY-MM-DD, got {text!r}") from None


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a whole number, got {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"expected a number >= 0, got {value}")
    return value


def _rate(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a number, got {text!r}") from None
    if not 0 <= value <= 0.5:
        raise argparse.ArgumentTypeError(f"expected a rate between 0 and 0.5, got {value}")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="rfm-spark", description=__doc__.splitlines()[0])
    parser.add_argument("--debug", action="store_true", help="show tracebacks and Spark logs")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)

    run = commands.add_parser("run", help="run the pipeline: raw -> staging -> marts")
    run.add_argument("--config", help="YAML config (default: conf/local.yaml)")
    run.add_argument("--raw-dir", help="raw landing folder (overrides raw.dir)")
    run.add_argument("--warehouse", help="warehouse folder (overrides warehouse.dir)")
    run.add_argument("--as-of", type=_date, help="reference date for recency, YYYY-MM-DD")
    run.add_argument("--full-refresh", action="store_true",
                     help="rebuild every table from all raw files")
    run.add_argument("--rebuild-history", action="store_true",
                     help="replay customer_segment_history from the first order date")
    run.add_argument("--report", nargs="?", const="", metavar="FILE.html",
                     help="after a run that succeeds, also write the HTML report in the same "
                          "session (default: next to the warehouse, rfm_report.html)")

    dq = commands.add_parser("dq", help="run the data-quality rules on the current tables")
    dq.add_argument("--config", help="YAML config (default: conf/local.yaml)")
    dq.add_argument("--warehouse", help="warehouse folder (overrides warehouse.dir)")
    dq.add_argument("--as-of", type=_date, help="reference date for freshness rules")

    report = commands.add_parser("report", help="write the offline HTML report from the marts")
    report.add_argument("--config", help="YAML config (default: conf/local.yaml)")
    report.add_argument("--warehouse", help="warehouse folder (overrides warehouse.dir)")
    report.add_argument("--out", help="HTML file (default: next to the warehouse, "
                                      "rfm_report.html)")

    clv = commands.add_parser("clv-validate", help="holdout validation of the CLV models")
    clv.add_argument("--calibration-end", type=_date, required=True,
                     help="fit on counted orders up to this date, YYYY-MM-DD")
    clv.add_argument("--holdout-end", type=_date, required=True,
                     help="count actual purchases after the calibration end up to this date")
    clv.add_argument("--config", help="YAML config (default: conf/local.yaml)")
    clv.add_argument("--warehouse", help="warehouse folder (overrides warehouse.dir)")

    gen = commands.add_parser("generate", help="write a deterministic synthetic raw landing")
    gen.add_argument("--out", required=True, help="folder to write <table>/*.csv into")
    gen.add_argument("--config", help="YAML config whose `sample` section gives the defaults")
    gen.add_argument("--customers", type=_positive_int)
    gen.add_argument("--orders", type=_positive_int)
    gen.add_argument("--seed", type=int)
    gen.add_argument("--start", type=_date)
    gen.add_argument("--end", type=_date)
    gen.add_argument("--dirty-rate", type=_rate)
    return parser


def main(argv: list[str] | None = None) -> int:
    from rfm_spark.logs import setup_logging

    args = build_parser().parse_args(argv)
    debug = args.debug or bool(os.environ.get("RFM_SPARK_DEBUG"))
    setup_logging(verbose=debug)
    try:
        if args.command == "generate":
            return _generate(args)
        if args.command == "dq":
            return _dq(args)
        if args.command == "report":
            return _report(args)
        if args.command == "clv-validate":
            return _clv_validate(args)
        return _run(args, debug)
    except RfmError as exc:
        if debug:
            log.exception("failed")
        print(f"rfm-spark: {exc}", file=sys.stderr)
        return exc.exit_code
    except ModuleNotFoundError as exc:
        missing = (exc.name or "").split(".")[0]
        hint = ("pip install 'rfm_spark[spark]' (Databricks brings its own PySpark and Delta)"
                if missing in ("pyspark", "delta") else "reinstall rfm_spark")
        print(f"rfm-spark: {exc.name} is not installed: {hint}", file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("rfm-spark: interrupted", file=sys.stderr)
        return 3
    except Exception as exc:
        if debug:
            log.exception("failed")
        print(f"rfm-spark: failed: {root_cause(exc)} (run with --debug for details)",
              file=sys.stderr)
        return 3


def _generate(args: argparse.Namespace) -> int:
    from rfm_spark.registry import load_settings
    from rfm_spark.tools.sample import SampleSpec, generate_landing

    defaults = load_settings(args.config).sample
    spec = SampleSpec(
        customers=args.customers if args.customers is not None else defaults.customers,
        orders=args.orders if args.orders is not None else defaults.orders,
        seed=args.seed if args.seed is not None else defaults.seed,
        start=args.start or dt.date.fromisoformat(defaults.start),
        end=args.end or dt.date.fromisoformat(defaults.end),
        dirty_rate=args.dirty_rate if args.dirty_rate is not None else defaults.dirty_rate,
    )
    if spec.end < spec.start:
        raise ConfigError("--end: must not be before --start")
    if spec.customers < 1:
        raise ConfigError("--customers: need at least 1")
    rows = generate_landing(Path(args.out), spec)
    print(f"wrote {args.out}: " + ", ".join(f"{t} {n:,}" for t, n in rows.items()))
    return 0


def _dq(args: argparse.Namespace) -> int:
    from rfm_spark.registry import load_settings
    from rfm_spark.runner.pipeline import check_warehouse
    from rfm_spark.session import get_spark
    from rfm_spark.summary import render_checks

    settings = load_settings(args.config, overrides={"warehouse.dir": args.warehouse})
    spark = get_spark(settings.spark)
    result = check_warehouse(spark, settings, args.as_of)
    print(render_checks(result.dq_results))
    return 0


def report_path(out: str | None, warehouse_dir: str) -> Path:
    """--out, else rfm_report.html next to the warehouse."""
    return Path(out) if out else Path(warehouse_dir).parent / "rfm_report.html"


def report_input_bytes(settings: Settings) -> int | None:
    """The bytes `rfm-spark report` will read when it starts a local session over a warehouse
    of local paths (its files), else None (tables elsewhere: sized by their platform)."""
    from rfm_spark.io.listing import local_folder_bytes
    from rfm_spark.session import starts_local_session

    warehouse = settings.warehouse
    on_paths = not warehouse.catalog_schema and not warehouse.tables
    return (local_folder_bytes(warehouse.dir)
            if on_paths and starts_local_session(settings.spark) else None)


def _report(args: argparse.Namespace) -> int:
    from rfm_spark.registry import load_settings
    from rfm_spark.session import get_spark, sized_to_input

    settings = load_settings(args.config, overrides={"warehouse.dir": args.warehouse})
    input_bytes = report_input_bytes(settings)
    spark = get_spark(settings.spark, input_bytes)
    # a small warehouse's report queries run as a small run's do (interpreted, few shuffles)
    with sized_to_input(spark, input_bytes, settings.spark, announce=False):
        _write_report(spark, settings, report_path(args.out, settings.warehouse.dir))
    return 0


def _write_report(spark: SparkSession, settings: Settings, out: Path) -> None:
    from rfm_spark.io.warehouse import Warehouse
    from rfm_spark.report import write_report

    path = write_report(Warehouse(spark, settings.warehouse), settings, out)
    print(f"Report: {path.resolve()}")


def _clv_validate(args: argparse.Namespace) -> int:
    from rfm_spark.clv.validation import render
    from rfm_spark.io.warehouse import Warehouse
    from rfm_spark.registry import load_settings
    from rfm_spark.runner.clv import validate_holdout
    from rfm_spark.runner.runs import new_run_id
    from rfm_spark.session import get_spark

    settings = load_settings(args.config, overrides={"warehouse.dir": args.warehouse})
    spark = get_spark(settings.spark)
    validations = validate_holdout(Warehouse(spark, settings.warehouse), settings,
                                   args.calibration_end, args.holdout_end, new_run_id())
    print(render(validations))
    return 0


def _run(args: argparse.Namespace, debug: bool) -> int:
    from rfm_spark.io.listing import local_folder_exists, local_landing_bytes
    from rfm_spark.registry import RAW_TABLES, load_settings
    from rfm_spark.runner.pipeline import RunOptions, refuse_missing_landing, run_pipeline
    from rfm_spark.session import get_spark, sized_to_input, starts_local_session
    from rfm_spark.summary import print_summary

    settings = load_settings(
        args.config, overrides={"raw.dir": args.raw_dir, "warehouse.dir": args.warehouse,
                                "spark.log_level": "INFO" if debug else None}
    )
    landing_bytes = None
    if starts_local_session(settings.spark):  # a missing landing refused before Spark starts
        refuse_missing_landing(settings, local_folder_exists)
        landing_bytes = local_landing_bytes(settings.raw_table(t) for t in RAW_TABLES)
    spark = get_spark(settings.spark, landing_bytes)
    result = run_pipeline(spark, settings, RunOptions(as_of=args.as_of,
                                                      full_refresh=args.full_refresh,
                                                      rebuild_history=args.rebuild_history))
    with sized_to_input(spark, result.landing_bytes, settings.spark, announce=False):
        print_summary(spark, settings, result)
        if args.report is not None:  # the run's JVM, warm: no second start-up
            _write_report(spark, settings, report_path(args.report, settings.warehouse.dir))
    return 0
