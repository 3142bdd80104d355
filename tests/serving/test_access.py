"""Serving that can be exposed: the token, where the service may listen, ``--no-history``,
what errors and /v1/model reveal, the access log, request ids, Prometheus metrics,
readiness, reloading, and scores of pairs."""

from __future__ import annotations

import json
import logging
import re
import threading
import time

import numpy as np
import pytest

from ncf.errors import UsageError
from ncf.serving.access import check_exposure, is_loopback, read_token
from tests.cli.test_cli import ncf
from tests.cli.test_cli_usage import one_error_line

pytest.importorskip("fastapi")
from fastapi.testclient import TestClient  # noqa: E402

from ncf.serving.app import create_app  # noqa: E402
from ncf.serving.observability import JsonLines, Metrics  # noqa: E402

TOKEN = "s3cret-token-of-the-tests"
RECS = "/v1/users/196/recommendations?k=3"


@pytest.fixture(scope="module")
def guarded(service):
    return TestClient(create_app(service, token=TOKEN))


def bearer(token: str = TOKEN) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_a_token_guards_every_data_endpoint(guarded):
    missing = guarded.get(RECS)
    assert missing.status_code == 401 and missing.headers["www-authenticate"] == "Bearer"
    assert guarded.get(RECS, headers=bearer("not-the-token")).status_code == 403
    assert guarded.get(RECS, headers={"Authorization": "Basic abc"}).status_code == 401
    assert guarded.get(RECS, headers=bearer()).status_code == 200
    for path in ("/v1/model", "/v1/users?query=1", "/v1/items/50", "/metrics"):
        assert guarded.get(path).status_code == 401, path
        assert guarded.get(path, headers=bearer()).status_code == 200, path
    # what holds no data stays open: liveness, readiness, the page and the API docs
    for path in ("/health", "/ready", "/", "/docs", "/openapi.json", "/static/app.js"):
        assert guarded.get(path).status_code == 200, path
    security = guarded.get("/openapi.json").json()["components"]["securitySchemes"]
    assert security == {
        "HTTPBearer": {
            "type": "http",
            "scheme": "bearer",
            "description": ("The token given to ncf serve."),
        }
    }


def test_where_the_service_may_listen_without_a_token(tmp_path, monkeypatch):
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.5")
    assert check_exposure("127.0.0.1", None, public=False) is None
    assert check_exposure("0.0.0.0", TOKEN, public=False) is None
    with pytest.raises(UsageError, match="--host 0.0.0.0 without a token"):
        check_exposure("0.0.0.0", None, public=False)
    assert "without a token" in check_exposure("0.0.0.0", None, public=True)
    short = tmp_path / "short"
    short.write_text("abc\n")
    with pytest.raises(UsageError, match="at least 16 characters"):
        read_token(short)
    given = tmp_path / "token"
    given.write_text(TOKEN + "\n# the line after is not read\n")
    assert read_token(given) == TOKEN
    monkeypatch.setenv("NCF_SERVE_TOKEN", "from-the-environment")
    assert read_token(None) == "from-the-environment"


def test_serve_refuses_a_public_address_without_a_token(served_run):
    env = {"NCF_SERVE_TOKEN": ""}
    line = one_error_line(ncf("serve", str(served_run), "--host", "0.0.0.0", env=env))
    assert "--host 0.0.0.0 without a token" in line and "--public" in line


def test_no_history_serves_recommendations_only(service):
    client = TestClient(create_app(service, history=False))
    assert client.get("/v1/users/196").status_code == 404
    assert client.get("/v1/users?query=19").status_code == 404
    assert client.get(RECS).status_code == 200
    assert client.get("/v1/model").json()["history"] is False


def test_the_model_names_its_data_and_errors_echo_little(client, served_run):
    described = client.get("/v1/model").json()
    assert described["data"] == "ml-100k" and str(served_run.parent) not in json.dumps(described)
    long_id = "x" * 3000
    answer = client.post("/v1/score", json={"pairs": [[long_id, 50]]}).json()
    assert len(answer["scores"][0]["error"]) < 250
    body = client.post("/v1/recommendations", json={"items": ["y" * 1500]})
    assert body.status_code == 404 and len(body.json()["id"]) == 200
    assert len(body.text) < 600


def test_one_access_line_per_request_with_its_request_id(service, caplog):
    client = TestClient(create_app(service))
    with caplog.at_level(logging.INFO, logger="ncf.serve.access"):
        client.get(RECS, headers={"X-Request-ID": "abc-123"})
        client.get("/v1/users/nobody/recommendations")
        client.get("/no/such/path")
    lines = [r for r in caplog.records if r.name == "ncf.serve.access"]
    assert [(r.fields["route"], r.fields["status"]) for r in lines] == [
        ("/v1/users/{user_id}/recommendations", 200),
        ("/v1/users/{user_id}/recommendations", 404),
        ("unmatched", 404),
    ]
    assert lines[0].fields["request_id"] == "abc-123" and lines[0].fields["ms"] > 0
    entry = json.loads(JsonLines().format(lines[0]))
    assert entry["method"] == "GET" and entry["status"] == 200 and entry["request_id"] == "abc-123"
    answered = client.get(RECS, headers={"X-Request-ID": "given-id"})
    assert answered.headers["x-request-id"] == "given-id"
    assert len(client.get(RECS).headers["x-request-id"]) == 16  # made when none is given


def test_metrics_count_each_route(service):
    client = TestClient(create_app(service, metrics=Metrics()))
    for _ in range(3):
        client.get(RECS)
    client.get("/v1/users/nobody/recommendations")
    text = client.get("/metrics").text
    route = 'route="/v1/users/{user_id}/recommendations"'
    assert re.search(rf'ncf_requests_total{{method="GET",{route},status="200"}} 3.0', text)
    assert re.search(rf'ncf_requests_total{{method="GET",{route},status="404"}} 1.0', text)
    assert re.search(rf"ncf_request_seconds_count{{{route}}} 4.0", text)
    assert 'ncf_model_info{model="ials",version=' in text
    assert re.search(r"ncf_model_loaded_at_seconds \d\.\d+e\+09", text)


def test_ready_only_once_the_bundle_is_loaded(service):
    gate = threading.Event()

    def slow_load():
        gate.wait(10)
        return service

    with TestClient(create_app(slow_load)) as client:
        assert client.get("/health").json()["status"] == "loading"
        assert client.get("/ready").status_code == 503
        assert client.get(RECS).status_code == 503
        gate.set()
        for _ in range(100):
            if client.get("/ready").status_code == 200:
                break
            time.sleep(0.05)
        assert client.get("/ready").json()["status"] == "ready"
        assert client.get(RECS).status_code == 200


def test_reload_swaps_in_the_bundle_and_needs_a_token(guarded, client):
    before = guarded.get("/v1/model", headers=bearer()).json()["loaded_at"]
    answer = guarded.post("/v1/admin/reload", headers=bearer())
    assert answer.status_code == 200 and answer.json()["status"] == "reloaded"
    assert answer.json()["loaded_at"] > before
    assert guarded.get(RECS, headers=bearer()).status_code == 200
    assert guarded.post("/v1/admin/reload").status_code == 401
    assert client.post("/v1/admin/reload").status_code == 403  # a service without a token


def test_scores_of_pairs_report_unknown_ids_per_pair(client, service):
    pairs = [[196, 242], ["196", "302"], ["nobody", 242], [196, "no-item"]]
    answer = client.post("/v1/score", json={"pairs": pairs}).json()
    assert answer["kind"] == "ranking"
    scores = [row["score"] for row in answer["scores"]]
    expected = service.rec.predict([196, 196], [242, 302])["score"].tolist()
    assert scores[:2] == pytest.approx(expected, rel=1e-6)
    assert scores[2:] == [None, None]
    assert [row["error"] for row in answer["scores"]] == [
        None,
        None,
        "unknown user id 'nobody'",
        "unknown item id 'no-item'",
    ]
    assert client.post("/v1/score", json={"pairs": [[1, 2, 3]]}).status_code == 422


@pytest.mark.slow
def test_a_rating_models_scores_are_its_rating_protocol_predictions(shared_data, tmp_path):
    from ncf.experiment.pipeline import train_run
    from ncf.experiment.settings import resolve_config
    from ncf.serving.service import Service

    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NCF_DATA_DIR", str(shared_data))
        config = resolve_config({"model": "mf", "data": "ml-100k", "epochs": 2})
        result = train_run(config, tmp_path / "mf", progress=False)
    test = result.prepared.test
    expected = test.predict(result.model)[:200]  # clipped to the training ratings' range
    vocab = result.prepared.split.test
    users = vocab.user_vocab.raw(test.users[:200])
    items = vocab.item_vocab.raw(test.items[:200])
    pairs = [[int(u), int(i)] for u, i in zip(users, items)]
    client = TestClient(create_app(Service.load(tmp_path / "mf")))
    served = client.post("/v1/score", json={"pairs": pairs}).json()
    assert served["kind"] == "rating"
    assert [row["score"] for row in served["scores"]] == pytest.approx(expected, abs=1e-5)
    assert min(expected) >= 1.0 and max(expected) <= 5.0
    path = tmp_path / "pairs.csv"
    path.write_text("user,item\n" + "".join(f"{u},{i}\n" for u, i in pairs))
    out = tmp_path / "scores.csv"
    assert (
        ncf("predict", str(tmp_path / "mf"), "--pairs", str(path), "--output", str(out)).returncode
        == 0
    )
    import pandas as pd

    printed = pd.read_csv(out)
    assert np.allclose(printed["score"], expected, atol=1e-5)
    one = ncf("predict", str(tmp_path / "mf"), "--user", str(users[0]), "--item", str(items[0]))
    assert f"{expected[0]:.6f}"[:5] in one.stdout


def test_workers_follow_a_reload_through_their_shared_file(service, tmp_path):
    shared = tmp_path / "reloads"
    first = create_app(service, token=TOKEN, reloads=shared)
    second = create_app(service, token=TOKEN, reloads=shared)
    with TestClient(first) as a, TestClient(second) as b:
        before = b.get("/v1/model", headers=bearer()).json()["loaded_at"]
        assert a.post("/v1/admin/reload", headers=bearer()).status_code == 200
        assert shared.read_text()  # the reload is written for the others
        for _ in range(60):
            if b.get("/v1/model", headers=bearer()).json()["loaded_at"] > before:
                break
            time.sleep(0.1)
        assert b.get("/v1/model", headers=bearer()).json()["loaded_at"] > before


def test_an_unexpected_error_answers_500_with_its_request_id(service, monkeypatch, caplog):
    client = TestClient(create_app(service), raise_server_exceptions=False)

    def broken(raw):
        raise RuntimeError("a bug")

    monkeypatch.setattr(service, "item", broken)
    with caplog.at_level(logging.INFO):
        answer = client.get("/v1/items/50", headers={"X-Request-ID": "req-42"})
    assert answer.status_code == 500
    assert answer.json() == {"detail": "internal error; request id req-42", "request_id": "req-42"}
    failed = [r for r in caplog.records if r.name == "ncf.serve.error"]
    assert failed and failed[0].getMessage() == "request req-42 failed" and failed[0].exc_info
    logged = [r.fields for r in caplog.records if r.name == "ncf.serve.access"]
    assert logged[-1]["status"] == 500 and logged[-1]["request_id"] == "req-42"


def test_no_history_refuses_to_mark_seen_items(service):
    client = TestClient(create_app(service, history=False))
    refused = client.get("/v1/users/196/recommendations?exclude_seen=false")
    assert refused.status_code == 403 and "--no-history" in refused.json()["detail"]
    assert client.get("/v1/users/196/recommendations?exclude_seen=true").status_code == 200


@pytest.mark.parametrize("given", ["abc", "   ", "fifteen-chars!!"])
def test_a_token_from_the_environment_is_as_long_as_from_a_file(given, monkeypatch):
    monkeypatch.setenv("NCF_SERVE_TOKEN", given)
    with pytest.raises(UsageError, match="NCF_SERVE_TOKEN: the token must be at least 16"):
        read_token(None)
