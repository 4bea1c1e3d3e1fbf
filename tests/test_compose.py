"""No Docker engine runs here, so check docker-compose.yml against the code instead:
every command it runs exists and every environment variable it sets is a setting we read."""

from __future__ import annotations

import importlib
import tomllib
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[1]


def _compose() -> dict:  # type: ignore[type-arg]
    return yaml.safe_load((ROOT / "docker-compose.yml").read_text())


def _settings_env_names(service: str) -> set[str]:
    settings_cls = importlib.import_module(f"onestop.{service}.settings").Settings
    names = set()
    for name, field in settings_cls.model_fields.items():
        alias = field.validation_alias
        names.add(alias if isinstance(alias, str) else f"ONESTOP_{name.upper()}")
    return names


def test_compose_has_the_topology() -> None:
    services = _compose()["services"]
    assert {"postgres", "nats-1", "nats-2", "nats-3", "identity", "ledger", "rules", "clearing"} <= set(services)
    for n in ("nats-1", "nats-2", "nats-3"):
        assert "-js" in services[n]["command"] and "--routes" in services[n]["command"]
    workers = [s for s in services.values() if "ONESTOP_PAYER" in (s.get("environment") or {})]
    assert len(workers) >= 3


def test_every_command_and_variable_exists() -> None:
    from typer.main import get_command

    from onestop.cli.main import app as cli_app

    scripts = tomllib.loads((ROOT / "libs/cli/pyproject.toml").read_text())["project"]["scripts"]
    cli_commands = set(get_command(cli_app).commands)  # type: ignore[attr-defined]
    for name, svc in _compose()["services"].items():
        if str(svc.get("image", "")).startswith(("postgres", "nats")):
            continue
        cmd = svc["command"]
        target = None
        if cmd[0] == "uvicorn":
            assert cmd[1] == "--factory"
            module, factory = cmd[2].split(":")
            assert callable(getattr(importlib.import_module(module), factory)), name
            target = module.split(".")[1]
        elif cmd[0] == "onestop":
            assert "onestop" in scripts and cmd[1] in cli_commands, name
            if cmd[1] == "serve":
                target = cmd[2]
                assert importlib.import_module(f"onestop.{target}.app").create_app
        else:
            raise AssertionError(f"{name}: unknown command {cmd[0]}")
        env = svc.get("environment") or {}
        allowed = _settings_env_names(target or "identity")
        for var in env:
            assert var in allowed, f"{name}: {var} is not a setting of onestop.{target or 'common'}"


def test_every_secret_is_guarded_and_the_issuer_key_is_no_services() -> None:
    import re

    guarded = re.compile(r"\$\{[A-Z0-9_]+:\?[^}]+\}")
    for name, svc in _compose()["services"].items():
        env = svc.get("environment") or {}
        for var, value in env.items():
            if any(word in var for word in ("KEY", "PASSWORD", "SECRET")):
                assert guarded.fullmatch(str(value)), f"{name}: {var} is not ${{VAR:?...}}"
        if "DATABASE_URL" in env:
            assert "${POSTGRES_PASSWORD:?" in env["DATABASE_URL"], name
        assert "ONESTOP_ISSUER_KEY" not in env, f"{name} holds the issuer's private key"
        if str(svc.get("command", [""])[:2]) == str(["onestop", "serve"]):
            needed = {"ONESTOP_ISSUER_PUBLIC_KEYS", "ONESTOP_SERVICE_PUBLIC_KEYS", "ONESTOP_SERVICE_KEY"}
            if svc["command"][2] == "identity":
                needed |= {"ONESTOP_PII_KEYS", "ONESTOP_PII_INDEX_KEY"}
            assert needed <= set(env), f"{name} lacks {needed - set(env)}"
            assert f"ONESTOP_{svc['command'][2].upper()}_SERVICE_KEY" in env["ONESTOP_SERVICE_KEY"], name
