"""The wheel carries the curated folders: installed elsewhere, it validates and exports."""

from __future__ import annotations

import subprocess
import sys
import venv
from pathlib import Path

from tests.conftest import REPO


def run(*args: str | Path, cwd: Path) -> subprocess.CompletedProcess:
    return subprocess.run(
        [str(a) for a in args], cwd=cwd, capture_output=True, text=True, timeout=600, check=False
    )


def test_wheel_installs_and_runs_outside_the_repository(tmp_path):
    built = run(
        sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", tmp_path, cwd=REPO
    )
    assert built.returncode == 0, built.stderr
    wheel = next(tmp_path.glob("zigraph-*.whl"))

    environment = tmp_path / "venv"
    venv.create(environment, with_pip=True)
    python = environment / "bin" / "python"
    installed = run(python, "-m", "pip", "install", "--quiet", wheel, cwd=tmp_path)
    assert installed.returncode == 0, installed.stderr

    where = run(
        python, "-c", "from service import resources; print(resources.data_root())", cwd=tmp_path
    )
    assert where.returncode == 0, where.stderr
    assert Path(where.stdout.strip()).is_relative_to(environment)

    zigraph = environment / "bin" / "zigraph"
    validated = run(zigraph, "validate", cwd=tmp_path)
    assert validated.returncode == 0, validated.stdout + validated.stderr
    exported = run(zigraph, "export", "--format", "nq", cwd=tmp_path)
    assert exported.returncode == 0, exported.stderr
    in_checkout = run(
        Path(sys.executable).with_name("zigraph"), "export", "--format", "nq", cwd=REPO
    )
    assert exported.stdout == in_checkout.stdout
    assert exported.stdout.count("\n") > 0
