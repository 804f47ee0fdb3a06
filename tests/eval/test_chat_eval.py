"""`make eval-chat` inside the test run: the scripted model and the keyword path must meet their targets."""

from __future__ import annotations

from pathlib import Path

from tests.eval import chat
from tests.eval.questions import CASES


def test_the_evaluation_has_enough_varied_questions() -> None:
    assert len(CASES) >= 40
    assert {case.language for case in CASES} == {"es", "en"}
    assert sum(case.follows is not None for case in CASES) >= 3
    assert sum("typo" in case.tags for case in CASES) >= 3
    assert len({case.id for case in CASES}) == len(CASES)


def test_tools_and_keyword_path_get_the_expected_figures(tmp_path: Path) -> None:
    assert chat.main(["--out", str(tmp_path)]) == 0, (tmp_path / "report.md").read_text()
    report = (tmp_path / "report.json").read_text()
    assert '"path": "tools"' in report and '"path": "fallback"' in report


def test_a_wrong_figure_does_not_count() -> None:
    assert chat.figure_in_text("Precio medio: 0,1263 €/kWh", 0.12631)
    assert not chat.figure_in_text("Precio medio: 0,1263 €/kWh", 0.1272)
    assert chat.figure_in_results([{"mean_price_eur_kwh": 0.12631}], 0.126312)
    assert not chat.figure_in_results([{"mean_price_eur_kwh": 0.12631}], 0.1264)
