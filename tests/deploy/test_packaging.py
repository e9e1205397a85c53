"""The shipped deployment files: the Dockerfile, compose.yaml and the systemd units.

There is no Docker engine on every CI machine, so the image is checked structurally here
(and built by ``.ci/run`` where a Docker engine answers); the units go through
``systemd-analyze verify``, which reports unknown keys and bad values.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest
import structlog
import yaml
from click.testing import CliRunner

from certsvc import __version__
from certsvc.cli.main import main
from certsvc.feed.service_metrics import LIFECYCLE_ACTIONS

ROOT = Path(__file__).resolve().parents[2]
UNITS = ("certsvc.service", "certsvc-scheduler.service", "certsvc-gateway-agent.service")


def dockerfile_stages(text: str) -> dict[str, list[tuple[str, str]]]:
    """(instruction, arguments) per build stage, continuation lines joined, comments dropped."""
    joined = re.sub(r"\\\n", " ", text)
    stages: dict[str, list[tuple[str, str]]] = {}
    current: list[tuple[str, str]] = []
    for line in joined.splitlines():
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        instruction, _, arguments = line.strip().partition(" ")
        if instruction.upper() == "FROM":
            current = []
            stages[arguments.split(" AS ")[-1].strip()] = current
        current.append((instruction.upper(), " ".join(arguments.split())))
    return stages


@pytest.fixture(scope="module")
def stages() -> dict[str, list[tuple[str, str]]]:
    return dockerfile_stages((ROOT / "Dockerfile").read_text())


def last(stage: list[tuple[str, str]], instruction: str) -> str:
    values = [arguments for name, arguments in stage if name == instruction]
    assert values, f"no {instruction} in the stage"
    return values[-1]


@pytest.mark.parametrize("name", ["runtime", "gateway"])
def test_image_runs_unprivileged_and_is_healthy_only_when_ready(stages, name):
    stage = stages[name]
    assert last(stage, "USER").split(":")[0] not in {"root", "0"}
    assert "/readyz" in last(stage, "HEALTHCHECK")
    assert last(stage, "ENTRYPOINT").startswith("[")  # exec form: signals reach certsvc


def test_image_is_slim_and_fetches_nothing_by_add(stages):
    bases = [last(stage, "FROM").split(" AS ")[0] for stage in stages.values()]
    assert all(base.endswith("-slim") or base in stages for base in bases), bases
    for stage in stages.values():
        for instruction, arguments in stage:
            assert not (instruction == "ADD" and "://" in arguments), arguments
            if instruction == "RUN" and "apt-get install" in arguments:
                assert "--no-install-recommends" in arguments
                assert "rm -rf /var/lib/apt/lists" in arguments


def test_image_copies_only_what_exists(stages):
    for stage in stages.values():
        for instruction, arguments in stage:
            if instruction == "COPY" and "--from" not in arguments:
                for source in arguments.split()[:-1]:
                    assert (ROOT / source).exists(), source


@pytest.fixture(scope="module")
def compose() -> dict[str, object]:
    loaded = yaml.safe_load((ROOT / "compose.yaml").read_text())
    assert isinstance(loaded, dict)
    return loaded


def test_compose_starts_the_whole_stack(compose):
    services = compose["services"]
    assert isinstance(services, dict)
    assert set(services) == {"certsvc", "scheduler", "postgres", "mail", "gateway"}
    assert services["certsvc"]["build"]["target"] == "runtime"
    assert services["gateway"]["build"]["target"] == "gateway"
    assert services["scheduler"]["command"] == ["scheduler"]
    assert services["certsvc"]["depends_on"]["postgres"]["condition"] == "service_healthy"
    assert services["gateway"]["depends_on"]["certsvc"]["condition"] == "service_healthy"


def test_compose_files_and_volumes_exist(compose):
    declared = set(compose["volumes"])
    for service in compose["services"].values():
        for volume in service.get("volumes", []):
            source = volume.split(":")[0]
            if source.startswith("./"):
                assert (ROOT / source).is_file(), source
            else:
                assert source in declared, source


def test_compose_config_points_at_its_services(compose):
    config = (ROOT / "deploy/docker/certsvc.toml").read_text()
    assert "@postgres:5432/" in config
    assert 'smtp_host = "mail"' in config


@pytest.mark.skipif(not shutil.which("docker"), reason="no docker client")
def test_compose_file_is_valid_for_docker_compose():
    """``docker compose config`` parses the file without an engine (the plugin may lack)."""
    result = subprocess.run(
        ["docker", "compose", "-f", str(ROOT / "compose.yaml"), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
    )
    if "is not a docker command" in result.stderr or "unknown" in result.stderr:
        pytest.skip("docker has no compose plugin here")
    assert result.returncode == 0, result.stderr


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="no systemd-analyze")
def test_units_pass_systemd_analyze_verify(tmp_path):
    executable = shutil.which("certsvc")
    assert executable, "certsvc is not installed in this environment"
    for name in UNITS:
        text = (ROOT / "deploy/systemd" / name).read_text()
        (tmp_path / name).write_text(text.replace("/usr/local/bin/certsvc", executable))
    result = subprocess.run(
        ["systemd-analyze", "verify", *(str(tmp_path / name) for name in UNITS)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert (result.returncode, result.stderr) == (0, "")


@pytest.mark.parametrize("name", UNITS)
def test_units_are_hardened_and_read_secrets_from_an_environment_file(name):
    lines = (ROOT / "deploy/systemd" / name).read_text().splitlines()
    keys = dict(line.split("=", 1) for line in lines if "=" in line and not line.startswith("#"))
    assert keys["EnvironmentFile"].startswith("/etc/certsvc/")
    assert keys["User"] != "root"
    for key in ("NoNewPrivileges", "ProtectHome", "PrivateTmp", "RestrictSUIDSGID"):
        assert keys[key] == "yes", key
    assert keys["ProtectSystem"] == "strict"
    assert keys["CapabilityBoundingSet"] == ""
    assert "certsvc " in keys["ExecStart"]


def test_version_option_prints_the_package_version():
    result = CliRunner().invoke(main, ["--version"])
    assert (result.exit_code, result.stdout) == (0, f"certsvc {__version__}\n")


def test_changelog_names_this_version():
    changelog = (ROOT / "CHANGELOG.md").read_text()
    assert f"## [{__version__}]" in changelog
    readme = (ROOT / "README.md").read_text()
    assert "### Upgrading" in readme


def test_migrate_brings_an_empty_database_up_and_is_then_a_no_op(tmp_path, database_url):
    config = tmp_path / "certsvc.toml"
    config.write_text(f'home = "{tmp_path / "home"}"\n[database]\nurl = "{database_url}"\n')
    runner = CliRunner()
    first = runner.invoke(main, ["--config", str(config), "migrate"])
    second = runner.invoke(main, ["--config", str(config), "migrate"])
    assert first.exit_code == second.exit_code == 0
    head = second.stdout.removeprefix("database schema current: ").strip()
    assert head.startswith("00"), second.stdout
    if "sqlite" in database_url:  # PostgreSQL's test schema is migrated once per run
        assert first.stdout == f"database schema migrated: empty -> {head}\n"
    structlog.reset_defaults()  # the CLI configured it; other tests expect the defaults


def metric_names(expression: str) -> set[str]:
    return set(re.findall(r"\bcertsvc_[a-z0-9_]+", expression))


def served_metric_names() -> set[str]:
    """Every metric family name certsvc's modules declare (Python source, not a list here)."""
    names: set[str] = set()
    for module in (
        "certsvc/feed/metrics.py",
        "certsvc/feed/service_metrics.py",
        "certsvc/api/observe.py",
    ):
        text = (ROOT / module).read_text()
        names |= set(re.findall(r'"(certsvc_[a-z0-9_]+)"', text))
        names |= {
            f"certsvc_{name}"
            for name in re.findall(r'(?:_gauge|_counter)\(\s*"([a-z0-9_]+)"', text)
        }
        names |= {f"certsvc_{name}" for name in re.findall(r'f"certsvc_\{name\}"', text)}
    names |= {f"certsvc_{name}" for name in LIFECYCLE_ACTIONS.values()}
    return names


def base_name(name: str) -> str:
    for suffix in ("_total", "_bucket", "_count", "_sum"):
        name = name.removesuffix(suffix)
    return name


def test_alert_rules_cover_the_issue_and_use_served_metrics():
    rules = yaml.safe_load((ROOT / "deploy/prometheus/certsvc-alerts.yml").read_text())
    alerts = {rule["alert"]: rule["expr"] for group in rules["groups"] for rule in group["rules"]}
    for wanted in (
        "CertsvcCRLAboutToExpire",
        "CertsvcOutboxStuck",
        "CertsvcNightlyMissed",
        "CertsvcCAExpiring",
    ):
        assert wanted in alerts
    served = served_metric_names()
    for expression in alerts.values():
        assert {base_name(name) for name in metric_names(expression)} <= served, expression


def test_dashboard_queries_only_served_metrics():
    board = json.loads((ROOT / "deploy/grafana/certsvc-dashboard.json").read_text())
    served = served_metric_names()
    expressions = [target["expr"] for panel in board["panels"] for target in panel["targets"]]
    assert len(expressions) >= 12
    for expression in expressions:
        assert {base_name(name) for name in metric_names(expression)} <= served, expression
