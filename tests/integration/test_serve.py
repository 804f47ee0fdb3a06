"""The app served the way `make run` serves it: `python -m app` under uvicorn on a real port."""

from pathlib import Path

import httpx

from tests.support.services import free_port, http_answers, python_argv, service


def test_python_m_app_answers_health_on_its_port(tmp_path: Path) -> None:
    port = free_port()
    with service(
        "app",
        python_argv("-m", "app", "--host", "127.0.0.1", "--port", str(port)),
        port=port,
        log_dir=tmp_path,
        env={"CF_DATA_DIR": str(tmp_path / "data"), "CF_SCHEDULER_ENABLED": "false"},
        ready=lambda: http_answers(f"http://127.0.0.1:{port}/health", 200),
    ) as app:
        response = httpx.get(f"{app.url}/health")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"
    assert (tmp_path / "data" / "app.db").exists(), "the embedded default stores SQLite under the data dir"
