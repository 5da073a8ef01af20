"""Reading a rendered PDF back as text, as its reader sees it."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest


def pdf_text(pdf: bytes, tmp_path: Path) -> str:
    """The PDF's text in reading layout, every run of whitespace (no-break spaces from
    Babel included) collapsed to one space. pdftotext is required, never skipped."""
    tool = shutil.which("pdftotext")
    if tool is None:
        pytest.fail(
            "pdftotext is missing: install poppler-utils "
            "(Debian/Ubuntu: apt-get install poppler-utils; .ci/run does it)",
            pytrace=False,
        )
    path = tmp_path / "invoice.pdf"
    path.write_bytes(pdf)
    out = subprocess.run(  # noqa: S603 - a fixed tool on our own file
        [tool, "-layout", "-enc", "UTF-8", str(path), "-"], capture_output=True, check=True
    )
    return " ".join(out.stdout.decode().split())
