"""Rendering for the CLI: JSON for tools, aligned tables for people, one-line errors."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

import click

from certsvc.lifecycle.views import CertificateView

SUMMARY_COLUMNS = (
    "serial",
    "state",
    "company_number",
    "user_id",
    "expiry_date",
    "revocation_reason",
)


def print_json(value: Any) -> None:
    click.echo(json.dumps(value, indent=2, ensure_ascii=False, sort_keys=True))


def print_table(rows: Sequence[dict[str, Any]], columns: Sequence[str]) -> None:
    """Columns aligned to their widest cell; ``-`` for empty values."""
    cells = [[_cell(row.get(column)) for column in columns] for row in rows]
    widths = [
        max([len(column), *(len(line[i]) for line in cells)]) for i, column in enumerate(columns)
    ]
    click.echo(
        "  ".join(
            column.upper().ljust(width) for column, width in zip(columns, widths, strict=True)
        ).rstrip()
    )
    for line in cells:
        click.echo(
            "  ".join(cell.ljust(width) for cell, width in zip(line, widths, strict=True)).rstrip()
        )


def print_record(record: dict[str, Any]) -> None:
    """One object as ``key: value`` lines."""
    width = max(len(key) for key in record)
    for key, value in record.items():
        click.echo(f"{key.ljust(width)}  {_cell(value)}")


def print_certificate(view: CertificateView, as_json: bool) -> None:
    if as_json:
        print_json(view.to_dict())
    else:
        print_record(view.to_dict())


def _cell(value: Any) -> str:
    if value is None or value == "":
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)
