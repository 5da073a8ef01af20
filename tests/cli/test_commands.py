"""The ``tollway`` command line, run as a user would run it."""

from __future__ import annotations

import os
import signal
import socket
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import httpx
import pytest
from click.testing import CliRunner

from tollway import cli as cli_package
from tollway.cli import main
from tollway.kernel.settings import get_settings


@pytest.fixture
def sqlite_env(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    monkeypatch.setenv("TOLLWAY_DATABASE_URL", url)
    monkeypatch.delenv("TOLLWAY_API_KEY", raising=False)
    get_settings.cache_clear()
    yield url
    get_settings.cache_clear()


def test_migrate_is_repeatable(sqlite_env: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["migrate"])
    assert first.exit_code == 0, first.output
    assert "up to date" in first.output
    assert runner.invoke(main, ["migrate"]).exit_code == 0


def test_keys_create_prints_a_working_secret(sqlite_env: str) -> None:
    runner = CliRunner()
    assert runner.invoke(main, ["migrate"]).exit_code == 0
    result = runner.invoke(main, ["keys", "create", "--name", "ops"])
    assert result.exit_code == 0, result.output
    assert result.output.strip().startswith("sk_")


def test_unknown_product_fails_with_a_message(sqlite_env: str) -> None:
    runner = CliRunner()
    runner.invoke(main, ["migrate"])
    result = runner.invoke(main, ["keys", "create", "--product", "nope"])
    assert result.exit_code == 1
    assert "product 'nope' not found" in result.output


def test_unreachable_database_fails_cleanly(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TOLLWAY_DATABASE_URL", "postgresql+psycopg://nobody@127.0.0.1:1/none")
    get_settings.cache_clear()
    try:
        result = CliRunner().invoke(main, ["migrate"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 1
    assert "database error" in result.output


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


@pytest.fixture
def served(tmp_path: Path) -> Iterator[str]:
    """``tollway serve`` in a subprocess on a fresh SQLite file, as the README says."""
    port = _free_port()
    env = {
        **os.environ,
        "TOLLWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}",
        "TOLLWAY_API_KEY": "sk_test_x",
    }
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tollway.cli.main", "serve", "--port", str(port)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"{base}/healthz", timeout=1).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.1)
        else:
            process.kill()
            output = process.stdout.read().decode() if process.stdout else ""
            pytest.fail(f"tollway serve did not start:\n{output}")
        yield base
    finally:
        process.terminate()
        process.wait(timeout=10)
        if process.stdout is not None:
            process.stdout.close()


GENERAL_BOTS_FILE = """
version: 1
product:
  name: "My SaaS Product"
  company: "My Company"
plans:
  - id: starter
    name: Starter
    price_monthly: 29
    price_annual: 290
    features:
      max_members: 10
      messages_per_month: 10000
      support_level: email
"""


def test_serve_answers_and_imports_a_product_file(served: str) -> None:
    headers = {"Authorization": "Bearer sk_test_x"}
    assert httpx.get(f"{served}/v1/plans", headers=headers).json()["data"] == []
    imported = httpx.post(
        f"{served}/v1/catalog/import",
        headers={**headers, "Content-Type": "application/yaml"},
        content=GENERAL_BOTS_FILE,
    )
    assert imported.status_code == 200, imported.text
    [plan] = httpx.get(f"{served}/v1/plans", headers=headers).json()["data"]
    assert sorted((p["interval"], p["amount"]) for p in plan["prices"]) == [
        ("annual", 29000),
        ("monthly", 2900),
    ]
    assert {(q["metric"], q["limit"], q["period"]) for q in plan["quotas"]} == {
        ("members", 10, "total"),
        ("messages", 10000, "monthly"),
    }
    assert plan["features"] == {"support_level": "email"}
    assert httpx.get(f"{served}/v1/customers").status_code == 401
    created = httpx.post(f"{served}/v1/customers", headers=headers, json={"external_id": "c1"})
    assert created.status_code == 201


def test_demo_seeds_twice_without_duplicates(sqlite_env: str) -> None:
    runner = CliRunner()
    first = runner.invoke(main, ["demo", "--no-serve"])
    assert first.exit_code == 0, first.output
    assert "Authorization: Bearer sk_" in first.output
    second = runner.invoke(main, ["demo", "--no-serve"])
    assert second.exit_code == 0, second.output
    sample = Path(cli_package.__file__).parent / "sample.product"
    imported = runner.invoke(main, ["catalog", "import", str(sample)])
    assert imported.exit_code == 0, imported.output


def test_catalog_import_reports_bad_files(sqlite_env: str, tmp_path: Path) -> None:
    runner = CliRunner()
    runner.invoke(main, ["migrate"])
    bad = tmp_path / "bad.product"
    bad.write_text("plans:\n  - id: p\n    name: P\n    price_monthly: -5\n")
    result = runner.invoke(main, ["catalog", "import", str(bad)])
    assert result.exit_code == 1
    assert "plans[0].price_monthly" in result.output


def _run_until_signalled(
    args: list[str], env: dict[str, str], ready: Callable[[], bool]
) -> tuple[int, str]:
    """Run ``tollway <args>`` until ``ready()``, send SIGTERM; its exit code and output."""
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tollway.cli.main", *args],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    try:
        deadline = time.monotonic() + 30
        while not ready() and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.1)
        started = ready()
        process.send_signal(signal.SIGTERM)
        output = process.communicate(timeout=30)[0].decode()
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate(timeout=10)
    assert started, output
    return process.returncode, output


def _jobs_done(database: Path) -> bool:
    with sqlite3.connect(database) as connection:
        try:
            row = connection.execute("SELECT count(*) FROM jobs WHERE status = 'done'").fetchone()
        except sqlite3.OperationalError:  # not migrated yet
            return False
    return bool(row[0])


def test_worker_exits_cleanly_on_sigterm(sqlite_env: str, tmp_path: Path) -> None:
    assert CliRunner().invoke(main, ["migrate"]).exit_code == 0
    code, output = _run_until_signalled(
        ["worker"],
        {"TOLLWAY_DATABASE_URL": sqlite_env},
        lambda: _jobs_done(tmp_path / "cli.db"),
    )
    assert code == 0, output
    assert "stopping after the jobs in hand" in output
    assert output.rstrip().endswith("stopped"), output


def test_serve_stops_its_worker_before_shutting_down(tmp_path: Path) -> None:
    port = _free_port()

    def answering() -> bool:
        try:
            return httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200
        except httpx.TransportError:
            return False

    _, output = _run_until_signalled(
        ["serve", "--port", str(port)],
        {"TOLLWAY_DATABASE_URL": f"sqlite:///{tmp_path / 'serve.db'}", "TOLLWAY_API_KEY": "k"},
        answering,
    )
    lines = output.splitlines()
    stopped = [
        i for i, line in enumerate(lines) if "tollway.jobs.worker" in line and "stopped" in line
    ]
    complete = [i for i, line in enumerate(lines) if "Application shutdown complete" in line]
    assert stopped, output
    assert complete, output
    assert stopped[0] < complete[0]
