"""scripts/setup.sh, behind both README commands (`make app`, `make test`), with pip stubbed out."""
import os
import shutil
import subprocess

import pytest

from apphelp import ROOT

FAKE_PYTHON = """#!/usr/bin/env bash
echo "$@" >> "$(dirname "$0")/../calls.log"
"""


@pytest.fixture
def checkout(tmp_path):
    for name in ("requirements.txt", "requirements-dev.txt", "pyproject.toml"):
        shutil.copy(ROOT / name, tmp_path / name)
    (tmp_path / "scripts").mkdir()
    shutil.copy(ROOT / "scripts" / "setup.sh", tmp_path / "scripts" / "setup.sh")
    py = tmp_path / ".venv" / "bin" / "python"  # an existing venv whose python only records what it is asked
    py.parent.mkdir(parents=True)
    py.write_text(FAKE_PYTHON)
    py.chmod(0o755)
    return tmp_path


def run(checkout, *args):
    env = {**os.environ, "PATH": "/usr/bin:/bin"}
    return subprocess.run(["bash", "scripts/setup.sh", *args], cwd=checkout, env=env, capture_output=True, text=True)


@pytest.mark.parametrize("args, requirements", [((), "requirements.txt"), (("--dev",), "requirements-dev.txt")])
def test_setup_installs_the_pinned_requirements_once(checkout, args, requirements):
    if args and not (os.access("/usr/bin/chromium", os.X_OK) and os.access("/usr/sbin/nginx", os.X_OK)):
        pytest.skip("--dev would install chromium and nginx with apt")
    r = run(checkout, *args)
    assert r.returncode == 0, r.stderr
    calls = (checkout / ".venv" / "calls.log").read_text().splitlines()
    assert calls[1] == "-m pip install -q torch==2.13.0"  # the CPU build before anything that depends on torch
    assert calls[2] == f"-m pip install -q -r {requirements}"
    assert calls[3] == "-m pip install -q --no-deps --no-build-isolation -e ."  # the package, importable anywhere
    assert len(list((checkout / ".venv").glob(".installed-*"))) == 1
    assert run(checkout, *args).returncode == 0  # second run: nothing to install
    assert len((checkout / ".venv" / "calls.log").read_text().splitlines()) == 4


def test_setup_refuses_unknown_options(checkout):
    r = run(checkout, "--bogus")
    assert r.returncode == 2 and "unknown option --bogus" in r.stderr


def test_nginx_option_installs_only_the_runtime_requirements(checkout):
    if not os.access("/usr/sbin/nginx", os.X_OK):
        pytest.skip("--nginx would install nginx with apt")
    r = run(checkout, "--nginx")
    assert r.returncode == 0, r.stderr
    calls = (checkout / ".venv" / "calls.log").read_text().splitlines()
    assert calls[2] == "-m pip install -q -r requirements.txt"
