"""The generated references (docs/configuration.md, docs/cli.md) match the code.

Each generator renders its page from the code (the pydantic config models, the argparse
parser); the committed page must be exactly what it renders now.
"""

from __future__ import annotations

import importlib
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from types import ModuleType

import pytest
from pydantic import field_validator

from sagepipe.config import EndpointConfig

REPO = Path(__file__).resolve().parents[2]
TOOLS = REPO / "tools"


@pytest.fixture(scope="module")
def tools() -> Iterator[None]:
    sys.path.insert(0, str(TOOLS))
    try:
        yield
    finally:
        sys.path.remove(str(TOOLS))


def generator(name: str) -> ModuleType:
    return importlib.import_module(name)


@pytest.mark.parametrize(
    ("module", "page"),
    [("gen_config_reference", "configuration.md"), ("gen_cli_reference", "cli.md")],
)
def test_generated_page_is_fresh(tools: None, module: str, page: str) -> None:
    committed = (REPO / "docs" / page).read_text(encoding="utf-8")
    rendered = generator(module).render()
    assert rendered == committed, (
        f"docs/{page} is stale: run `python tools/{module}.py` and commit the result"
    )


def test_check_option_reports_a_stale_page(tools: None, tmp_path: Path) -> None:
    script = TOOLS / "gen_cli_reference.py"
    fresh = subprocess.run(
        [sys.executable, str(script), "--check"], capture_output=True, text=True, timeout=60
    )
    assert fresh.returncode == 0, fresh.stderr
    # The same script against a copy of the repository whose page is out of date.
    copy = tmp_path / "repo"
    (copy / "tools").mkdir(parents=True)
    (copy / "docs").mkdir()
    for tool in (script, TOOLS / "generated_page.py"):
        (copy / "tools" / tool.name).write_text(tool.read_text())
    (copy / "docs" / "cli.md").write_text("# an old CLI reference\n")
    stale = subprocess.run(
        [sys.executable, str(copy / "tools" / script.name), "--check"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert stale.returncode == 1
    assert "run `python tools/gen_cli_reference.py`" in stale.stderr


def test_every_config_field_is_documented(tools: None) -> None:
    from sagepipe.config.files import CONFIG_TYPES

    text = (REPO / "docs" / "configuration.md").read_text(encoding="utf-8")
    for cls in {*CONFIG_TYPES.values()}:
        assert f"## {cls.__name__}" in text
        for name in cls.model_fields:
            assert f"| `{name}` |" in text, f"{cls.__name__}.{name}"


def test_a_validator_without_rules_stops_the_generator(tools: None) -> None:
    config_reference = generator("gen_config_reference")

    class TinyEndpointConfig(EndpointConfig):
        """An endpoint config with one more rule."""

        @field_validator("endpoint_name")
        @classmethod
        def _short(cls, value: str) -> str:
            return value

    with pytest.raises(KeyError, match=r"TinyEndpointConfig\._short has no rules"):
        config_reference.class_section(TinyEndpointConfig, [])


def test_a_rule_for_a_missing_validator_stops_the_generator(
    tools: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    config_reference = generator("gen_config_reference")
    rules = {**config_reference.RULES, "EndpointConfig._gone": ("An old rule.",)}
    monkeypatch.setattr(config_reference, "RULES", rules)
    with pytest.raises(KeyError, match=r"EndpointConfig\._gone"):
        config_reference.render()


def test_every_command_is_documented(tools: None) -> None:
    cli_reference = generator("gen_cli_reference")
    from sagepipe.cli.main import build_parser

    text = (REPO / "docs" / "cli.md").read_text(encoding="utf-8")

    def walk(parser: object) -> Iterator[str]:
        for _, _, child in cli_reference.subcommands(parser):
            yield child.prog
            yield from walk(child)

    progs = list(walk(build_parser()))
    assert len(progs) >= 20
    for prog in progs:
        assert f"# {prog}\n" in text, f"{prog} has no section in docs/cli.md"
