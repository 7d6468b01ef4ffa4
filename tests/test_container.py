"""The Dockerfile and compose.yaml, checked as far as a machine without a Docker engine allows:
`docker-compose config` resolves and validates the compose file, and the Dockerfile is read."""

import json
import re
import shutil
import subprocess

import pytest
from django.conf import settings

from tests.conftest import UNDER_CI
from tests.processes import ROOT

DOCKERFILE = (ROOT / "Dockerfile").read_text()


@pytest.fixture
def compose(tmp_path):
    """Run `docker-compose config` with an env file holding `values`; return the CompletedProcess."""
    if shutil.which("docker-compose") is None:
        reason = "docker-compose is not installed"
        if UNDER_CI:
            pytest.fail(f"CI=true and {reason}: scripts/setup --compose installs it")
        pytest.skip(f"{reason} (scripts/setup --compose installs it)")

    def run(*args, **values):
        env_file = tmp_path / "compose.env"
        env_file.write_text("".join(f"{k}={v}\n" for k, v in values.items()))
        return subprocess.run(
            ["docker-compose", "--env-file", str(env_file), "-f", str(ROOT / "compose.yaml"), "config", *args],
            capture_output=True,
            text=True,
            timeout=60,
            env={"PATH": "/usr/bin:/bin:/usr/local/bin"},
        )

    return run


def test_compose_resolves_to_a_proxy_web_ws_worker_migrate_mariadb_and_redis(compose):
    done = compose("--services", SECRET_KEY="k" * 50, DB_PASSWORD="pw")
    assert done.returncode == 0, done.stderr
    assert sorted(done.stdout.split()) == ["db", "migrate", "proxy", "redis", "web", "worker", "ws"]


def test_the_services_run_the_right_commands_against_mariadb_and_redis(compose):
    done = compose(SECRET_KEY="k" * 50, DB_PASSWORD="pw")
    assert done.returncode == 0, done.stderr
    config = done.stdout
    assert "mysql://batoshelf:pw@db:3306/batoshelf" in config
    assert "redis://redis:6379/0" in config
    worker = config[config.index("\n  worker:") :]
    assert re.search(r"command:\n\s+- python\n\s+- manage.py\n\s+- worker", worker)
    ws = config[config.index("\n  ws:") :]
    assert re.search(r"command:\n\s+- daphne\n\s+- -b\n\s+- 0.0.0.0\n\s+- -p\n\s+- '?8001'?", ws)
    proxy = config[config.index("\n  proxy:") : config.index("\n  redis:")]
    assert "Caddyfile:/etc/caddy/Caddyfile:ro" in proxy and ("published: 8000" in proxy or "8000:8000" in proxy)
    assert "stop_grace_period: 1m0s" in worker or "stop_grace_period: 60s" in worker
    assert "--character-set-server=utf8mb4" in config
    assert "condition: service_completed_successfully" in config


def test_compose_refuses_to_start_without_a_secret_key(compose):
    done = compose(DB_PASSWORD="pw")
    assert done.returncode != 0
    assert "set SECRET_KEY in .env" in done.stderr


def test_the_image_holds_every_app_and_only_the_runtime_requirements():
    copied = set(re.findall(r"^COPY (\S+) ", DOCKERFILE, re.MULTILINE)) - {"--from=wheels", "requirements.txt"}
    apps = {app.split(".")[0] for app in settings.INSTALLED_APPS if (ROOT / app.split(".")[0]).is_dir()}
    assert apps <= copied
    assert {"batoshelf", "templates", "static", "manage.py"} <= copied
    runtime = subprocess.run(
        ["sed", "/^# Tests/,$d", str(ROOT / "requirements.txt")], capture_output=True, text=True, check=True
    ).stdout
    assert "daphne" in runtime and "gunicorn" in runtime and "mysqlclient" in runtime and "channels-redis" in runtime
    assert "pytest" not in runtime and "selenium" not in runtime


def test_the_image_serves_pages_with_gunicorn_as_a_non_root_user():
    cmd = json.loads(re.search(r"^CMD (\[.*\])$", DOCKERFILE, re.MULTILINE).group(1))
    assert cmd == ["gunicorn", "-c", "python:batoshelf.gunicorn", "batoshelf.wsgi:application"]
    assert re.search(r"^USER batoshelf$", DOCKERFILE, re.MULTILINE)


def test_the_proxy_sends_websockets_to_daphne_and_the_rest_to_gunicorn():
    caddyfile = (ROOT / "Caddyfile").read_text()
    assert re.search(r"handle /ws/\* \{\s+reverse_proxy ws:8001\s+\}", caddyfile)
    assert re.search(r"handle \{\s+reverse_proxy web:8000\s+\}", caddyfile)
