"""What an operator sees of ``ncf serve``: an access log line per request, each request's
id, and Prometheus metrics.

`Observe` wraps the app (plain ASGI, so that it costs a few microseconds a request):
it takes the request's ``X-Request-ID`` (or makes one), returns it in the response's
headers, and when the response is sent logs one line (method, the route's path template,
status, milliseconds, request id) and counts it. Routes are counted by their template
(``/v1/users/{user_id}/recommendations``), never by the raw path, so that a client cannot
grow the metrics; a path no route matches counts as ``unmatched``.

`Metrics` holds the counters (prometheus-client): requests by method, route and status,
latency histograms by route, and the model's name, version and load time. With several
worker processes the values are kept in ``PROMETHEUS_MULTIPROC_DIR`` (set by
``ncf serve --workers N``) and ``/metrics`` adds up every process's.
"""

from __future__ import annotations

import json
import logging
import os
import time
import uuid
from typing import Any

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
    multiprocess,
)

ACCESS = logging.getLogger("ncf.serve.access")
ERRORS = logging.getLogger("ncf.serve.error")
#: latency buckets, in seconds: the service answers in about a millisecond
BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)


class Metrics:
    """Request counts and latency histograms per route, and the model served."""

    def __init__(self) -> None:
        self.shared = bool(os.environ.get("PROMETHEUS_MULTIPROC_DIR"))
        self.registry = CollectorRegistry()  # one per app: apps in one process stay apart
        self.requests = Counter(
            "ncf_requests",
            "Requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "ncf_request_seconds",
            "Time from the request to the end of its response, by route template.",
            ["route"],
            buckets=BUCKETS,
            registry=self.registry,
        )
        self.model = Gauge(
            "ncf_model_info",
            "The model served (1), labelled with its name and ncf version.",
            ["model", "version"],
            registry=self.registry,
            multiprocess_mode="max",
        )
        self.loaded_at = Gauge(
            "ncf_model_loaded_at_seconds",
            "When the bundle served was loaded (Unix time).",
            registry=self.registry,
            multiprocess_mode="max",
        )

    def loaded(self, model: str, version: str) -> None:
        if not self.shared:  # (several processes cannot clear labels; each has its own)
            self.model.clear()
        self.model.labels(model, version).set(1)
        self.loaded_at.set(time.time())

    def exposition(self) -> tuple[bytes, str]:
        """The text ``/metrics`` answers with, and its content type."""
        if self.shared:  # every worker's values, from the shared folder
            registry = CollectorRegistry()
            multiprocess.MultiProcessCollector(registry)
            return generate_latest(registry), CONTENT_TYPE_LATEST
        return generate_latest(self.registry), CONTENT_TYPE_LATEST


def configure_logging(log_format: str = "text") -> None:
    """Access and error lines on stderr, one per event: ``text`` or ``json``."""
    handler = logging.StreamHandler()
    handler.setFormatter(JsonLines() if log_format == "json" else TextLines())
    for logger in (ACCESS, ERRORS):
        logger.handlers[:] = [handler]
        logger.setLevel(logging.INFO)
        logger.propagate = False


class TextLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        when = time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created))
        fields = getattr(record, "fields", None)
        if fields is None:
            line = f"{when} {record.levelname.lower()} {record.getMessage()}"
        else:
            line = (
                f"{when} {fields['method']} {fields['route']} {fields['status']} "
                f"{fields['ms']:.1f} ms id={fields['request_id']}"
            )
        if record.exc_info:
            line += "\n" + self.formatException(record.exc_info)
        return line


class JsonLines(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        entry: dict[str, Any] = {
            "time": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(record.created)),
            "level": record.levelname.lower(),
        }
        entry.update(getattr(record, "fields", None) or {"message": record.getMessage()})
        if record.exc_info:
            entry["error"] = self.formatException(record.exc_info)
        return json.dumps(entry)


class Observe:
    """ASGI middleware: a request id, one access log line and the metrics per request."""

    def __init__(self, app: Any, metrics: Metrics):
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        given = dict(scope.get("headers") or ()).get(b"x-request-id", b"")[:64]
        request_id = given.decode("latin-1") if given else uuid.uuid4().hex[:16]
        scope.setdefault("state", {})["request_id"] = request_id
        status = 500

        async def sending(message: dict) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, sending)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(template).observe(seconds)
            fields = {
                "method": method,
                "route": template,
                "status": status,
                "ms": round(seconds * 1000, 2),
                "request_id": request_id,
            }
            ACCESS.info("", extra={"fields": fields})
