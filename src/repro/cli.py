"""The `repro` command: synth, check-data, diff (each a thin wrapper over a repro module)."""
from __future__ import annotations

import argparse
import logging
import sys


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="repro", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("synth", help="generate the synthetic market in the input contract")
    p.add_argument("--config", default="config/config.yaml")
    p.add_argument("--out", help="output folder (default: data.path of the config)")

    p = sub.add_parser("check-data", help="validate a data source and print a summary")
    p.add_argument("--config", default="config/config.yaml")
    p.add_argument("--summary", help="also write the summary as JSON to this file")

    p = sub.add_parser("diff", help="compare regenerated tables with the published ones")
    p.add_argument("results_dir")
    p.add_argument("reference_dir", nargs="?", default=None)
    p.add_argument("--format", choices=["text", "csv"], default="text")
    p.add_argument("--out", help="with --format csv: file to write (default: stdout)")

    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    from .config import ConfigError, load_config

    try:
        if args.command == "synth":
            cfg = load_config(args.config)
            from .synth import generate_market

            generate_market(cfg["synthetic"], args.out or cfg["data"]["path"])
            return 0
        if args.command == "check-data":
            cfg = load_config(args.config)
            from .data.check import check_data_cli

            return check_data_cli(cfg["data"], summary_path=args.summary)
        if args.command == "diff":
            from .diff import diff_cli

            return diff_cli(args.results_dir, args.reference_dir, fmt=args.format, out=args.out)
    except ConfigError as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    return 1


if __name__ == "__main__":
    sys.exit(main())
