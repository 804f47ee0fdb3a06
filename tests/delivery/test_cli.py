"""`python -m infra.deploy`: the operator's failures end with a message and an exit code, not a traceback."""

from __future__ import annotations

from pathlib import Path

import pytest

from infra.deploy.__main__ import main

DIGEST = "sha256:" + "a" * 64


def test_deploy_without_a_pulumi_cli_says_so(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setenv("HOME", str(tmp_path))

    assert main(["deploy", "--stack", "dev", "--digest", DIGEST]) == 3
    assert "cannot open stack dev" in capsys.readouterr().err


def test_image_needs_a_tag_or_a_stack(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["image", "--version", "abc"]) == 3
    assert "--tag" in capsys.readouterr().err


def test_an_unknown_stack_is_refused_by_the_parser() -> None:
    with pytest.raises(SystemExit) as exit_info:
        main(["rollback", "--stack", "staging"])
    assert exit_info.value.code == 2
