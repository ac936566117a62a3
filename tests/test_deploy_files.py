"""The deployment files follow the Procfile: compose.yaml runs each of its processes with the
same command, exactly one worker, after the release step; the Dockerfile builds them all."""

from __future__ import annotations

import pathlib
import shlex

import yaml

ROOT = pathlib.Path(__file__).resolve().parents[1]


def procfile() -> dict[str, list[str]]:
    lines = (ROOT / "Procfile").read_text().splitlines()
    return {
        name.strip(): shlex.split(command)
        for name, _, command in (line.partition(":") for line in lines if line.strip())
    }


def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_every_procfile_process_with_its_command():
    services = compose()["services"]
    processes = procfile()
    assert set(processes) == {"web", "worker"}
    for name, command in processes.items():
        assert name in services, f"compose.yaml has no service {name!r}"
        assert services[name]["command"] == command


def test_compose_has_postgresql_the_release_step_and_one_worker():
    services = compose()["services"]
    assert services["postgres"]["image"].startswith("postgres:")
    assert services["migrate"]["command"] == ["madoguchi", "db", "upgrade"]
    for name in procfile():
        assert services[name]["depends_on"]["migrate"]["condition"] == (
            "service_completed_successfully"
        )
        assert services[name]["environment"]["DATABASE_URL"].startswith("postgresql://")
    assert services["worker"]["deploy"]["replicas"] == 1


def test_the_dockerfile_installs_the_package_and_documents_every_process():
    text = (ROOT / "Dockerfile").read_text()
    assert "FROM python:3.11" in text and "pip install ." in text
    for command in procfile().values():
        assert " ".join(command) in text
    assert "madoguchi db upgrade" in text


def test_deploy_doc_covers_the_release_step_the_paths_and_the_backups():
    text = (ROOT / "docs" / "deploy.md").read_text()
    for needed in (
        "madoguchi db upgrade",
        "/telegram/webhook",
        "/line/webhook",
        "/slack/events",
        "MADOGUCHI_SECRET_KEY",
        "madoguchi doctor",
        "/healthz",
    ):
        assert needed in text
