"""What `make run` installs: the dashboard's packages, not the test tools."""

from __future__ import annotations

import re

from tests.helpers import ROOT

# Tools for tests and benchmarks only (datasketch is bench/quality_dedup.py's baseline): never in `make run`.
TEST_TOOLS = {"pytest", "pytest-timeout", "playwright", "ruff", "datasketch"}


def names(requirements: str) -> set[str]:
    return {
        re.split(r"[=<>\[ ]", line.strip())[0].lower()
        for line in (ROOT / requirements).read_text().splitlines()
        if line.strip() and not line.startswith(("#", "-"))
    }


def test_the_run_requirements_hold_no_test_tools() -> None:
    assert names("requirements.txt") & TEST_TOOLS == set()
    assert {"streamlit", "torch", "transformers", "tomlkit"} <= names("requirements.txt")


def test_the_dev_requirements_add_the_test_tools_to_the_run_requirements() -> None:
    text = (ROOT / "requirements-dev.txt").read_text()
    assert "-r requirements.txt" in text
    assert names("requirements-dev.txt") == TEST_TOOLS


def test_make_run_installs_only_the_run_requirements() -> None:
    makefile = (ROOT / "Makefile").read_text()
    run_prerequisites = re.search(r"^run: (.*)$", makefile, re.M).group(1).split()
    assert run_prerequisites == ["$(STAMP)"]
    stamp_rule = re.search(r"^\$\(STAMP\):.*?(?=^\S)", makefile, re.M | re.S).group(0)
    assert "requirements-dev" not in stamp_rule
    assert re.search(r"^test: setup-dev", makefile, re.M)
