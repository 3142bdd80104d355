"""A served ML-100K run (iALS, fitted in seconds), shared by the service's tests."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def served_run(shared_data, tmp_path_factory):
    from ncf.experiment.pipeline import train_run
    from ncf.experiment.settings import resolve_config

    folder = tmp_path_factory.mktemp("served") / "ials"
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NCF_DATA_DIR", str(shared_data))
        config = resolve_config({"model": "ials", "data": "ml-100k", "iterations": 6})
        train_run(config, folder, progress=False)
    return folder


@pytest.fixture(scope="session")
def service(served_run):
    from ncf.serving.service import Service

    return Service.load(served_run)


@pytest.fixture(scope="session")
def client(service):
    pytest.importorskip("fastapi")  # the test client runs on httpx2 (or httpx)
    from fastapi.testclient import TestClient

    from ncf.serving.app import create_app

    return TestClient(create_app(service, max_k=50, max_body=4096))
