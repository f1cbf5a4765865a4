"""What the ``ledger`` commands share: who acts, where the data is, dates as arguments, and
a report printed as tables and written to CSV and XLSX."""

import argparse
import os
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import TypeVar

from ledger.errors import InvalidInput
from ledger.personal_data import key_source
from ledger.service import Actor
from ledger.settings import Settings
from ledger.system import System, open_system
from projections import report_files

R = TypeVar("R")
Command = Callable[[Settings, argparse.Namespace], None]


def actor() -> Actor:
    return Actor(os.environ.get("USER", "cli"), "cli")


def where(settings: Settings) -> None:
    """Where the data is, on stderr: stdout stays the command's output (the bench's JSON)."""
    keys = key_source(settings.keys_json, settings.key_file, settings.data_dir)
    print(f"data dir: {settings.data_dir}\ndatabase: {settings.redacted_url}\n"
          f"personal-data keys: {keys} (back them up apart from the database)", file=sys.stderr)


def day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a date YYYY-MM-DD") from None


def add_report_options(sub: argparse.ArgumentParser) -> None:
    """--program, then --as-of or --position, and the files to write."""
    sub.add_argument("--program", required=True, metavar="ID")
    when = sub.add_mutually_exclusive_group()
    when.add_argument("--as-of", metavar="YYYY-MM",
                      help="as the ledger had recorded it by the end of that month")
    when.add_argument("--position", type=int, metavar="N",
                      help="after the log's first N events")
    sub.add_argument("--csv", type=Path, metavar="FILE")
    sub.add_argument("--xlsx", type=Path, metavar="FILE")


def report_command(build: Callable[[System, str, str | None, int | None], R],
                   title: Callable[[R], str],
                   sections: Callable[[R], list[report_files.Section]]) -> Command:
    """``ledger report NAME``: the report of --program, now or as of --as-of or --position,
    printed and written to the --csv and --xlsx files."""
    def run(settings: Settings, args: argparse.Namespace) -> None:
        where(settings)
        with open_system(settings) as system:
            system.ledger.program(args.program)  # refuses an unknown program by name
            report = build(system, args.program, args.as_of, args.position)
        write_report(args, title(report), sections(report))

    return run


def write_report(args: argparse.Namespace, title: str,
                 sections: list[report_files.Section]) -> None:
    print(report_files.text(title, sections))
    for path, render in ((args.csv, report_files.csv_bytes),
                         (args.xlsx, report_files.xlsx_bytes)):
        if path is None:
            continue
        try:
            path.write_bytes(render(sections))
        except OSError as error:
            raise InvalidInput(f"cannot write {path}: {error.strerror}",
                               field=path.suffix.lstrip(".") or "file") from None
        print(f"wrote {path}")
