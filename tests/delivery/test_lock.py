"""The Python lock: every dependency pinned with the sha256 of each file, and installed only that way.

`constraints.txt` is where versions are chosen; `make lock` turns it into `requirements.lock` (the
virtualenv) and `app/requirements.lock` (the app image) with PyPI's hashes. `scripts/setup.sh venv`
installs the lock with `--require-hashes`, then the project itself with `--no-deps`; the wheelhouse
and app/Dockerfile install the app lock with `--require-hashes` too.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from infra.deploy.image import APP_LOCK_FILE, LOCK_FILE

REPO_ROOT = Path(__file__).resolve().parents[2]
LOCK = REPO_ROOT / LOCK_FILE
REQUIREMENT = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==(\S+)")
HASH = re.compile(r"--hash=sha256:([0-9a-f]{64})\b")


def normalized(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def lock_entries(text: str) -> dict[str, tuple[str, list[str]]]:
    """name -> (version, hashes) of each requirement of a pip-compile lock (continuation lines joined)."""
    joined = re.sub(r"\\\n\s*", " ", text)
    entries: dict[str, tuple[str, list[str]]] = {}
    for line in joined.splitlines():
        line = line.split(" #", 1)[0].strip()
        match = REQUIREMENT.match(line)
        if match:
            entries[normalized(match.group(1))] = (match.group(2), HASH.findall(line))
        else:
            assert not line or line.startswith("#"), f"unexpected lock line: {line!r}"
    return entries


def constraints() -> dict[str, str]:
    pins: dict[str, str] = {}
    for line in (REPO_ROOT / "constraints.txt").read_text().splitlines():
        match = REQUIREMENT.match(line.strip())
        if match:
            pins[normalized(match.group(1))] = match.group(2)
    return pins


def test_the_lock_pins_exactly_the_constraints_each_with_its_hashes() -> None:
    entries = lock_entries(LOCK.read_text())
    assert {name: version for name, (version, _) in entries.items()} == constraints()
    unhashed = sorted(name for name, (_, hashes) in entries.items() if not hashes)
    assert unhashed == [], f"{LOCK_FILE} lists these without a sha256: {unhashed}"
    # pip, and the build backend the project is built with, come from the lock too.
    assert {"pip", "setuptools"} <= set(entries)
    assert "make lock" in LOCK.read_text().split("\n", 6)[4], "the lock says how to regenerate it"


def test_the_app_image_lock_is_the_lock_restricted_to_the_apps_own_dependencies() -> None:
    full = lock_entries(LOCK.read_text())
    app = lock_entries((REPO_ROOT / APP_LOCK_FILE).read_text())
    assert {"fastapi", "uvicorn", "anthropic", "sqlalchemy"} <= set(app)
    for name, (version, hashes) in app.items():
        assert name in full, f"{APP_LOCK_FILE} has {name}, which {LOCK_FILE} does not"
        assert (version, sorted(hashes)) == (full[name][0], sorted(full[name][1])), name
        assert hashes, f"{APP_LOCK_FILE} lists {name} without a sha256"
    # No dev or infra tool reaches the image.
    assert not {"pytest", "ruff", "mypy", "pulumi", "playwright", "pip-tools"} & set(app)


def test_the_app_image_installs_its_dependencies_only_from_the_hashed_app_lock() -> None:
    dockerfile = (REPO_ROOT / "app" / "Dockerfile").read_text()
    installs = [
        line.strip().rstrip("\\").strip()
        for line in dockerfile.splitlines()
        if re.search(r"\$pip (install|wheel)", line)
    ]
    assert f"$pip install --no-cache-dir --require-hashes --requirement {APP_LOCK_FILE};" in installs
    # The project's own wheel adds nothing: --no-deps, then `pip check` proves the lock was complete.
    assert all("--no-deps" in line for line in installs if "--require-hashes" not in line), installs
    assert "$pip check;" in dockerfile


# --- setup.sh on a throwaway project: the lock's hashes decide what gets installed --------------------


def _wheel(source: Path, name: str, out: Path) -> Path:
    (source / name).mkdir(parents=True)
    (source / name / "__init__.py").write_text("VALUE = 42\n")
    (source / "pyproject.toml").write_text(
        '[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n'
        f'[project]\nname = "{name}"\nversion = "1.0"\n'
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--quiet",
            "--no-deps",
            "--no-build-isolation",
            "-w",
            str(out),
            str(source),
        ],
        check=True,
        env={**os.environ, "PIP_CONFIG_FILE": os.devnull},
    )
    (wheel,) = out.glob(f"{name}-1.0-*.whl")
    return wheel


@pytest.fixture(scope="module")
def dependency_wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("wheels")
    return _wheel(root / "src", "tinydep", root / "wheels")


# The throwaway project's build backend, in its own tree: setup.sh builds the project with
# --no-build-isolation, and this test may not fetch setuptools. PEP 517/660 hooks, wheels per PEP 427.
BACKEND = """
import base64, hashlib, os, zipfile

def _wheel(directory, files):
    dist = "demo-0.1.dist-info"
    metadata = "Metadata-Version: 2.1\\nName: demo\\nVersion: 0.1\\nRequires-Dist: tinydep\\n"
    tags = "Wheel-Version: 1.0\\nGenerator: test\\nRoot-Is-Purelib: true\\nTag: py3-none-any\\n"
    files = {**files, dist + "/METADATA": metadata, dist + "/WHEEL": tags}
    record = []
    name = "demo-0.1-py3-none-any.whl"
    with zipfile.ZipFile(os.path.join(directory, name), "w") as wheel:
        for path, text in files.items():
            data = text.encode()
            wheel.writestr(path, data)
            digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
            record.append(f"{path},sha256={digest},{len(data)}")
        wheel.writestr(dist + "/RECORD", "\\n".join(record + [dist + "/RECORD,,"]) + "\\n")
    return name

def build_wheel(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"demo/__init__.py": open("demo/__init__.py").read()})

def build_editable(wheel_directory, config_settings=None, metadata_directory=None):
    return _wheel(wheel_directory, {"demo.pth": os.getcwd() + "\\n"})
"""


def _project(tmp_path: Path, lock: str) -> Path:
    """A project with scripts/setup.sh, a dependency on `tinydep`, and `lock` as its requirements.lock.

    No constraints.txt: the lock alone says what the virtualenv holds.
    """
    project = tmp_path / "project"
    (project / "scripts").mkdir(parents=True)
    shutil.copy(REPO_ROOT / "scripts" / "setup.sh", project / "scripts" / "setup.sh")
    (project / "demo").mkdir()
    (project / "demo" / "__init__.py").write_text("from tinydep import VALUE\n")
    (project / "backend.py").write_text(BACKEND)
    (project / "pyproject.toml").write_text(
        '[build-system]\nrequires = []\nbuild-backend = "backend"\nbackend-path = ["."]\n'
        '[project]\nname = "demo"\nversion = "0.1"\ndependencies = ["tinydep"]\n'
    )
    (project / LOCK_FILE).write_text(lock)
    return project


def _setup_venv(project: Path, wheels: Path) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "PIP_CONFIG_FILE": os.devnull,
        "PIP_NO_INDEX": "1",
        "PIP_FIND_LINKS": str(wheels),
        # The interpreter the project's own virtualenv was made from (setup.sh makes a new one).
        "PYTHON": str(
            Path(sys.base_prefix) / "bin" / f"python{sys.version_info.major}.{sys.version_info.minor}"
        ),
    }
    return subprocess.run(
        ["bash", str(project / "scripts" / "setup.sh"), "venv"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
    )


def _imports_demo(project: Path) -> bool:
    python = project / ".venv" / "bin" / "python"
    return subprocess.run([str(python), "-c", "import demo"], capture_output=True).returncode == 0


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_setup_installs_the_locked_file_then_the_project_without_dependencies(
    tmp_path: Path, dependency_wheel: Path
) -> None:
    project = _project(tmp_path, f"tinydep==1.0 \\\n    --hash=sha256:{_sha256(dependency_wheel)}\n")
    result = _setup_venv(project, dependency_wheel.parent)
    assert result.returncode == 0, result.stderr
    assert _imports_demo(project), "the project is installed (editable) and finds its locked dependency"


def test_setup_refuses_a_file_whose_hash_the_lock_does_not_list(
    tmp_path: Path, dependency_wheel: Path
) -> None:
    project = _project(tmp_path, "tinydep==1.0 \\\n    --hash=sha256:" + "0" * 64 + "\n")
    result = _setup_venv(project, dependency_wheel.parent)
    assert result.returncode != 0
    assert "DO NOT MATCH THE HASHES" in result.stderr
    assert not _imports_demo(project), "nothing of the tampered dependency may be installed"


def test_setup_refuses_a_lock_entry_without_a_hash(tmp_path: Path, dependency_wheel: Path) -> None:
    project = _project(tmp_path, "tinydep==1.0\n")
    result = _setup_venv(project, dependency_wheel.parent)
    assert result.returncode != 0
    assert "Hashes are required in --require-hashes mode" in result.stderr
    assert not _imports_demo(project)
