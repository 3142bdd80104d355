"""The HTTP service through FastAPI's test client, on a served ML-100K run."""

from __future__ import annotations

import numpy as np
import pytest


def test_health_and_model_with_its_protocol(client, served_run):
    assert client.get("/health").json() == {
        "status": "ok",
        "model": "ials",
        "users": 943,
        "items": 1682,
    }
    model = client.get("/v1/model").json()
    assert model["model"] == "ials" and model["protocol"] == "full"
    assert model["data"] == "ml-100k" and model["retrieval"] == "exact"
    assert 0.05 < model["metrics"]["test"]["ndcg@10"] < 1
    assert set(model["metrics"]) == {"valid", "test"}
    assert model["max_k"] == 50  # as the fixture serves it


def test_a_known_users_top_k_matches_the_python_api(client, service):
    answer = client.get("/v1/users/196/recommendations?k=10").json()
    assert answer["user"] == 196 and answer["path"] == "known user"
    items = answer["items"]
    assert [row["rank"] for row in items] == list(range(1, 11))
    expected = service.rec.recommend([196], k=10)
    assert [row["item"] for row in items] == expected["item"].tolist()
    np.testing.assert_allclose([row["score"] for row in items], expected["score"], rtol=1e-6)
    assert all(row["title"] and row["genres"] for row in items)
    seen = set(service.rec.history(196)["item"])
    assert not seen & {row["item"] for row in items}
    assert not any(row["seen"] for row in items)
    with_seen = client.get("/v1/users/196/recommendations?k=50&exclude_seen=false").json()
    flagged = {row["item"] for row in with_seen["items"] if row["seen"]}
    assert flagged and flagged == seen & {row["item"] for row in with_seen["items"]}


def test_unknown_ids_are_404_naming_the_id(client):
    for url in (
        "/v1/users/99999/recommendations",
        "/v1/users/99999",
        "/v1/items/abc/similar",
        "/v1/items/0",
    ):
        response = client.get(url)
        assert response.status_code == 404, url
        raw = url.split("/")[3]
        assert response.json()["id"] == raw and repr(raw) in response.json()["detail"]
    response = client.post("/v1/recommendations", json={"items": [50, 77777]})
    assert response.status_code == 404 and response.json()["id"] == "77777"


@pytest.mark.parametrize(
    "url",
    [
        "/v1/users/196/recommendations?k=51",  # over the cap of this app (50)
        "/v1/users/196/recommendations?k=0",
        "/v1/users/196/recommendations?k=ten",
        "/v1/users/196/recommendations?exclude_seen=maybe",
        "/v1/items/50/similar?k=-1",
        "/v1/items?limit=1000",
    ],
)
def test_bad_parameters_are_422(client, url):
    assert client.get(url).status_code == 422


def test_bad_bodies_are_422_and_large_ones_413(client):
    for body in ({"items": "50"}, {"items": [50], "k": 51}, {"items": [50], "path": "/etc"}):
        assert client.post("/v1/recommendations", json=body).status_code == 422, body
    big = {"items": list(range(1, 1200))}  # over 4096 bytes
    assert client.post("/v1/recommendations", json=big).status_code == 413


def test_a_new_user_by_fold_in_or_popularity(client, service):
    answer = client.post("/v1/recommendations", json={"items": [50, "181", 172], "k": 5}).json()
    assert answer["user"] is None and answer["path"] == "least squares"
    assert len(answer["items"]) == 5 and not {50, 172, 181} & {r["item"] for r in answer["items"]}
    empty = client.post("/v1/recommendations", json={"items": [], "k": 3}).json()
    most = np.argsort(-service.rec.popularity, kind="stable")[:3]
    assert empty["path"] == "popularity"
    assert [r["item"] for r in empty["items"]] == service.rec.known.item_vocab.raw(most).tolist()
    allowed = client.post(
        "/v1/recommendations", json={"items": [50], "k": 5, "candidates": [1, 2, 50]}
    ).json()
    assert sorted(r["item"] for r in allowed["items"]) == [1, 2]


def test_similar_items_and_title_search(client):
    similar = client.get("/v1/items/50/similar?k=5").json()
    assert similar["item"]["title"] == "Star Wars (1977)" and similar["path"] == "embeddings"
    titles = [row["title"] for row in similar["items"]]
    assert "Return of the Jedi (1983)" in titles and len(titles) == 5
    found = client.get("/v1/items?query=STAR WARS").json()
    assert found[0] == {
        "item": 50,
        "title": "Star Wars (1977)",
        "genres": "Action|Adventure|Romance|Sci-Fi|War",
    }
    assert client.get("/v1/items?query=no such film at all").json() == []


def test_user_search_and_history(client, service):
    matches = client.get("/v1/users?query=19&limit=3").json()
    assert [m["user"] for m in matches] == [19, 190, 191]
    history = client.get("/v1/users/196?limit=100").json()
    assert history["total"] == 39 == len(history["items"])
    assert {row["item"] for row in history["items"]} == set(service.rec.history(196)["item"])
    assert all(row["rating"] in (1.0, 2.0, 3.0, 4.0, 5.0) for row in history["items"])
    # most recent first: user 196's last three ratings in u.data are items 1118, 94, 110
    assert [row["item"] for row in history["items"][:3]] == [110, 94, 1118]
    assert [row["rating"] for row in history["items"][:3]] == [1.0, 3.0, 4.0]


def test_openapi_documents_every_endpoint_and_no_path_parameter(client):
    schema = client.get("/openapi.json").json()
    assert set(schema["paths"]) == {
        "/health",
        "/ready",
        "/v1/model",
        "/v1/users",
        "/v1/users/{user_id}",
        "/v1/users/{user_id}/recommendations",
        "/v1/recommendations",
        "/v1/score",
        "/v1/admin/reload",
        "/v1/items",
        "/v1/items/{item_id}",
        "/v1/items/{item_id}/similar",
    }
    names = {
        p["name"]
        for path in schema["paths"].values()
        for op in path.values()
        for p in op.get("parameters", [])
    }
    assert names == {"user_id", "item_id", "k", "exclude_seen", "query", "limit"}
    docs = client.get("/docs")  # served from packaged files: no CDN, works offline
    assert docs.status_code == 200 and "cdn." not in docs.text
    script = next(line for line in docs.text.split('"') if line.endswith("swagger-ui-bundle.js"))
    assert client.get(script).status_code == 200
    page = client.get("/")
    assert page.status_code == 200 and "<title>ncf recommendations</title>" in page.text
    assert client.get("/static/app.js").status_code == 200
