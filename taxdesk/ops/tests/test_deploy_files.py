"""The files a deployer installs as they are: deploy/systemd/*, deploy/env.example, Procfile."""

import grp
import os
import pwd
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import get_commands

from .harness import ROOT

pytestmark = pytest.mark.deployment

UNITS = sorted((ROOT / "deploy" / "systemd").iterdir())
ENV_EXAMPLE = ROOT / "deploy" / "env.example"
# Variables systemd sets for a unit that asks for the directory.
SET_BY_SYSTEMD = {"STATE_DIRECTORY": "StateDirectory"}


def _settings(path: Path, key: str) -> list[str]:
    return [
        line.split("=", 1)[1]
        for line in path.read_text().splitlines()
        if line.startswith(f"{key}=")
    ]


def _env_example() -> dict[str, str]:
    return dict(
        line.split("=", 1)
        for line in ENV_EXAMPLE.read_text().splitlines()
        if line and not line.startswith("#")
    )


def test_the_units_are_the_expected_set():
    assert [p.name for p in UNITS] == [
        "taxdesk-backup.service",
        "taxdesk-backup.timer",
        "taxdesk-beat.service",
        "taxdesk-web.service",
        "taxdesk-worker.service",
    ]


def test_systemd_accepts_the_units_here(tmp_path):
    """systemd's own check, on copies that point at this checkout, its virtual environment
    and this user instead of /opt/taxdesk, /etc/taxdesk/env and the taxdesk user."""
    if shutil.which("systemd-analyze") is None:
        pytest.skip("systemd-analyze is not installed")
    venv = Path(sys.executable).parent.parent
    env = tmp_path / "env"
    shutil.copy(ENV_EXAMPLE, env)
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    copies = []
    for unit in UNITS:
        text = (
            unit.read_text()
            .replace("/opt/taxdesk/.venv", str(venv))
            .replace("/opt/taxdesk", str(ROOT))
            .replace("/etc/taxdesk/env", str(env))
            .replace("User=taxdesk", f"User={user}")
            .replace("Group=taxdesk", f"Group={group}")
        )
        copy = tmp_path / unit.name
        copy.write_text(text)
        copies.append(str(copy))
    result = subprocess.run(
        ["systemd-analyze", "verify", *copies], capture_output=True, text=True, timeout=120
    )
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("unit", [u for u in UNITS if u.suffix == ".service"], ids=lambda u: u.name)
def test_each_service_runs_a_real_command_with_the_documented_paths(unit):
    assert _settings(unit, "WorkingDirectory") == ["/opt/taxdesk"]
    assert _settings(unit, "EnvironmentFile") == ["/etc/taxdesk/env"]
    assert _settings(unit, "User") == ["taxdesk"]
    commands = _settings(unit, "ExecStartPre") + _settings(unit, "ExecStart")
    assert commands
    known = get_commands()
    for command in commands:
        assert command.startswith("/opt/taxdesk/.venv/bin/"), command
        executable = command.split()[0].removeprefix("/opt/taxdesk/.venv/bin/")
        assert (Path(sys.executable).parent / executable).exists(), executable
        if " manage.py " in command:
            assert command.split(" manage.py ")[1].split()[0] in known, command
    # Every variable a command uses has a default in the unit or is set in env.example.
    defaults = dict(
        item.split("=", 1) for line in _settings(unit, "Environment") for item in line.split()
    )
    example = _env_example()
    for variable in re.findall(r"\$\{(\w+)\}", " ".join(commands)):
        if variable in SET_BY_SYSTEMD:
            assert _settings(unit, SET_BY_SYSTEMD[variable]), variable
        else:
            assert variable in defaults and variable in example, variable


def test_env_example_sets_what_production_requires_and_nothing_unknown():
    example = _env_example()
    for required in ("TAXDESK_MODE", "SECRET_KEY", "ALLOWED_HOSTS", "DATABASE_URL", "REDIS_URL"):
        assert required in example
    assert example["TAXDESK_MODE"] == "production"
    assert example["SECRET_KEY"] == "", "no key that could be copied into production"
    read = (ROOT / "taxdesk" / "settings.py").read_text() + "".join(
        p.read_text() for p in [*UNITS, ROOT / "Procfile"]
    )
    for variable in example:
        assert variable in read, f"{variable} is read by nothing"


def test_procfile_starts_the_web_server_the_worker_and_the_scheduler():
    processes = dict(
        line.split(": ", 1)
        for line in (ROOT / "Procfile").read_text().splitlines()
        if re.match(r"^[A-Za-z0-9_-]+:", line)
    )
    assert set(processes) == {"web", "worker", "beat"}
    assert processes["web"].startswith(".venv/bin/gunicorn taxdesk.wsgi ")
    assert processes["worker"].startswith(".venv/bin/celery -A taxdesk worker ")
    assert processes["beat"].startswith(".venv/bin/celery -A taxdesk beat ")
