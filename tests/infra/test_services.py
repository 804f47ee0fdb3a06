"""What each platform service is configured to do, as an operator would check it in `docker inspect`."""

from __future__ import annotations

import json

import yaml

from tests.infra.harness import StackRun
from tests.infra.helpers import envs, files_holder, uploads


def test_forgejo_is_locked_down_with_actions_on_and_its_url_on_the_tailnet(runs: dict[str, StackRun]) -> None:
    forgejo = runs["prod"].container("forgejo")
    settings = envs(forgejo)
    assert settings["FORGEJO__service__DISABLE_REGISTRATION"] == "true"
    assert settings["FORGEJO__security__INSTALL_LOCK"] == "true"
    assert settings["FORGEJO__actions__ENABLED"] == "true"
    assert settings["FORGEJO__server__ROOT_URL"] == "https://git.tailfa57c0.ts.net/"
    assert settings["FORGEJO__server__HTTP_ADDR"] == "127.0.0.2"
    assert settings["FORGEJO__server__SSH_LISTEN_HOST"] == "127.0.0.2"
    assert settings["FORGEJO__security__SECRET_KEY_URI"] == "file:/run/secrets/forgejo-secret-key"
    secret_key = uploads(runs["prod"], forgejo)["/run/secrets/forgejo-secret-key"]
    assert secret_key["content"] == "placeholder-forgejoSecretKey"
    assert forgejo.inputs["healthcheck"]["tests"][-1] == "http://127.0.0.2:3000/api/healthz"
    assert forgejo.inputs["networkMode"] == "container:ts-forgejo"


def test_forgejo_ssh_is_forwarded_by_its_sidecar(runs: dict[str, StackRun]) -> None:
    import json

    sidecar = runs["prod"].container("ts-forgejo")
    serve = json.loads(uploads(runs["prod"], sidecar)["/config/serve.json"]["content"])
    assert serve["TCP"]["22"] == {"TCPForward": "127.0.0.2:2222"}


def test_registry_requires_htpasswd_allows_deletes_and_stores_on_a_volume(runs: dict[str, StackRun]) -> None:
    for stack in ("prod", "local"):
        registry = runs[stack].container("registry")
        settings = envs(registry)
        assert settings["REGISTRY_AUTH"] == "htpasswd"
        assert settings["REGISTRY_AUTH_HTPASSWD_PATH"] == "/auth/htpasswd"
        assert settings["REGISTRY_STORAGE_DELETE_ENABLED"] == "true"
        assert uploads(runs[stack], registry)["/auth/htpasswd"]["content"] == "placeholder-registryHtpasswd"
        assert {"volumeName": "registry-data", "containerPath": "/var/lib/registry", "readOnly": False} in (
            registry.inputs["volumes"]
        )
    assert envs(runs["prod"].container("registry"))["REGISTRY_HTTP_ADDR"] == "127.0.0.2:5000"


def test_deploy_runners_register_offline_with_their_deploy_label_and_get_no_docker(
    runs: dict[str, StackRun],
) -> None:
    for stack in ("dev", "prod", "local"):
        runner = runs[stack].container(f"runner-{stack}")
        config = yaml.safe_load(uploads(runs[stack], runner)["/etc/forgejo-runner/config.yml"]["content"])
        assert config["runner"]["labels"] == [f"deploy-{stack}:host"]
        assert config["container"]["docker_host"] == "-"
        assert config["container"]["privileged"] is False
        script = runner.inputs["command"][-1]
        assert "create-runner-file" in script and '--secret "$(cat /run/secrets/runner-secret)"' in script
        secret = uploads(runs[stack], runner)["/run/secrets/runner-secret"]
        assert secret["content"] == f"placeholder-runnerSecret-{stack}"
        assert "uploads" in files_holder(runs[stack], runner).secret_properties
        assert not envs(runner).get("DOCKER_HOST")
    dev_runner = runs["dev"].container("runner-dev")
    assert '--instance "https://git.tailfa57c0.ts.net"' in dev_runner.inputs["command"][-1]
    assert envs(dev_runner)["HTTPS_PROXY"] == "http://127.0.0.1:1055"


def test_environment_wiring_sidecar_nginx_app_and_proxy(runs: dict[str, StackRun]) -> None:
    run = runs["prod"]
    web, app, proxy = run.container("web-prod"), run.container("app-prod"), run.container("proxy-prod")
    assert web.inputs["networkMode"] == "container:ts-prod"
    assert envs(web)["CF_NGINX_LISTEN"] == "127.0.0.2:8080"
    assert envs(web)["CF_APP_UPSTREAM"] == "app-prod:8000"
    assert "/etc/nginx/templates/nginx.conf.template" in uploads(run, web)
    assert {"volumeName": "web-prod-logs", "containerPath": "/var/log/cf-web", "readOnly": False} in (
        web.inputs["volumes"]
    )
    assert {"volumeName": "web-prod-logs", "containerPath": "/var/log/cf-web", "readOnly": True} in (
        app.inputs["volumes"]
    )
    assert {"name": "cf-prod", "aliases": ["app-prod"]} in app.inputs["networksAdvanced"]
    assert envs(app)["CF_ANALYTICS_LOCALAPI_URL"] == "http://proxy-prod:8765"
    assert envs(app)["CF_ANALYTICS_PLAN_USER_LIMIT"] == "6"
    assert json.loads(envs(app)["CF_PRODUCTION_WRITERS"]) == ["group:admins"]
    groups = json.loads(envs(app)["CF_TAILNET_GROUPS"])
    assert groups["group:admins"] == ["operator@chocolatefactory.example"], "the policy file's own group"
    assert proxy.inputs["user"] == "10001:10001"
    assert {
        "volumeName": "ts-prod-socket",
        "containerPath": "/var/run/tailscale-shared",
        "readOnly": True,
    } in (proxy.inputs["volumes"]), "connect() on the socket needs no write access to its volume"
    assert {"name": "cf-prod", "aliases": ["proxy-prod"]} in proxy.inputs["networksAdvanced"]


def test_the_app_reads_the_anthropic_key_from_a_file_not_its_environment(runs: dict[str, StackRun]) -> None:
    app = runs["prod"].container("app-prod")
    assert "ANTHROPIC_API_KEY" not in envs(app)
    key_file = uploads(runs["prod"], app)["/run/secrets/anthropic-api-key"]
    assert key_file["content"] == "placeholder-anthropicApiKey"
    assert envs(app)["CF_ANTHROPIC_API_KEY_FILE"] == "/run/secrets/anthropic-api-key"
    assert app.inputs.get("command") is None, "the image's own entry point starts the app"


def test_production_writers_are_the_tailnet_admins_and_the_local_stack_names_a_local_writer(
    runs: dict[str, StackRun],
) -> None:
    prod = envs(runs["prod"].container("app-prod"))
    assert json.loads(prod["CF_PRODUCTION_WRITERS"]) == ["group:admins"]
    assert "CF_PRODUCTION_LOCAL_WRITER" not in prod, "on the tailnet every writer is a login"
    local = envs(runs["local"].container("app-local"))
    assert local["CF_PRODUCTION_LOCAL_WRITER"] == "local-operator"
    assert "CF_PRODUCTION_WRITERS" not in local, "no tailnet: no login may write"
