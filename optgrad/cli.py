"""The ``optgrad`` command."""

import argparse
import sys

import optgrad


def build_parser() -> argparse.ArgumentParser:
    """Build the argument parser of the ``optgrad`` command."""
    parser = argparse.ArgumentParser(
        prog="optgrad",
        description="Train and compare optimizers on built-in tasks.",
    )
    parser.add_argument(
        "--version", action="version", version=f"optgrad {optgrad.__version__}"
    )
    return parser


def main(argv: list[str] | None = None) -> int:
    """Run the command and return its exit status."""
    parser = build_parser()
    parser.parse_args(argv)
    parser.print_help()
    return 0


if __name__ == "__main__":
    sys.exit(main())
