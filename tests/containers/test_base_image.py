import pytest

from tests.support.docker import docker

pytestmark = [pytest.mark.docker, pytest.mark.slow]


def test_base_image_runs_python_inside_a_container(base_image: str) -> None:
    result = docker(
        "run",
        "--rm",
        "--network",
        "none",
        base_image,
        "python3",
        "-c",
        "import sys, ssl, venv; print(sys.version_info[:2])",
    )
    assert result.stdout.strip() == "(3, 11)"


def test_base_image_carries_socat_for_the_localapi_proxy(base_image: str) -> None:
    result = docker("run", "--rm", "--network", "none", base_image, "socat", "-V")
    assert "socat version" in result.stdout
