"""The HTTP service: a FastAPI app over one loaded bundle, and the page at ``/``.

    >>> app = create_app(Service.load("runs/neumf"))
    >>> # uvicorn: ncf serve runs/neumf --port 8000

Endpoints (OpenAPI at ``/docs`` and ``/redoc``, served offline): ``GET /health`` (the
process answers) and ``GET /ready`` (a bundle is loaded); ``GET /v1/model``;
``GET /v1/users`` (search) and ``GET /v1/users/{id}`` (history), both off with
``history=False``; ``GET /v1/users/{id}/recommendations``; ``POST /v1/recommendations``
(a new user from their items); ``POST /v1/score`` (scores of pairs);
``GET /v1/items`` (search by title); ``GET /v1/items/{id}``;
``GET /v1/items/{id}/similar``; ``POST /v1/admin/reload`` (load the bundle again and
swap it in); ``GET /metrics`` (Prometheus). With a token, all but ``/health``,
``/ready``, the page and the docs need it (`ncf.serving.access`). Unknown ids answer
404 naming the id (at most 200 characters of it), bad parameters 422, a body over the
limit 413, an unexpected error 500 with the request's id. No endpoint takes a path: the
bundle is the one given at start.
"""

import asyncio
import os
import signal
import threading
import time
from collections.abc import Callable
from importlib.resources import files
from pathlib import Path as FilePath
from typing import Annotated, Any

from fastapi import APIRouter, Body, Depends, FastAPI, HTTPException, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field

from ncf.serving.access import bearer
from ncf.serving.observability import ERRORS, Metrics, Observe
from ncf.serving.service import Service, UnknownId
from ncf.version import __version__

STATIC = files("ncf.serving") / "static"


class Error(BaseModel):
    detail: str
    id: str | None = Field(None, description="The unknown id, as given.")


class Item(BaseModel):
    """An item: its raw id, and its metadata where known (title, genres, ...)."""

    model_config = ConfigDict(extra="allow")
    item: int | str
    title: str | None = None
    genres: str | None = None


class Scored(Item):
    rank: int = Field(description="1 for the best.")
    score: float = Field(
        description="The model's score (higher is better); on the popularity path, the "
        "item's number of interactions."
    )
    seen: bool = Field(False, description="The user already has it (with exclude_seen=false).")


class Recommendations(BaseModel):
    user: int | str | None = Field(None, description="The user, or null for a new user.")
    path: str = Field(
        description="How the user was scored: 'known user', or for a new user the fold-in "
        "path: sequence, row, least squares, gradient or popularity."
    )
    retrieval: str = Field(description="'exact', or the approximate index (hnsw, ivf).")
    items: list[Scored]


class Similar(BaseModel):
    item: Item
    path: str = Field(description="neighbours, embeddings or co-occurrence.")
    items: list[Scored]


class Known(Item):
    rating: float | None = None


class History(BaseModel):
    user: int | str
    total: int = Field(description="Items the user has.")
    items: list[Known] = Field(description="Most recent first.")


class NewUser(BaseModel):
    """A user the model was not trained on, by the items they have."""

    model_config = ConfigDict(extra="forbid")
    items: list[int | str] = Field(
        default_factory=list, max_length=1000, description="Raw item ids, oldest first."
    )
    k: int = Field(10, ge=1)
    exclude_seen: bool = True
    exclude_items: list[int | str] | None = Field(
        None, max_length=10_000, description="A deny-list of raw item ids."
    )
    candidates: list[int | str] | None = Field(
        None, max_length=10_000, description="An allow-list: the only items to recommend."
    )


class UserMatch(BaseModel):
    user: int | str
    items: int


class Health(BaseModel):
    status: str
    model: str | None = None
    users: int | None = None
    items: int | None = None


class Pairs(BaseModel):
    """(user, item) pairs to score, by raw ids."""

    model_config = ConfigDict(extra="forbid")
    pairs: list[tuple[int | str, int | str]] = Field(max_length=10_000)


class PairScore(BaseModel):
    user: int | str
    item: int | str
    score: float | None = Field(description="None when an id is unknown.")
    error: str | None = Field(None, description="Why the pair has no score.")


class Scores(BaseModel):
    kind: str = Field(
        description="'rating': predicted ratings, clipped to the training ratings' range "
        "(as the rating protocol scores them); 'ranking': the model's ranking scores."
    )
    scores: list[PairScore]


class Reloaded(BaseModel):
    status: str
    model: str
    loaded_at: float = Field(description="Unix time.")


class Live:
    """The service answering now: swapped whole on reload, so that a request sees one
    bundle from start to end."""

    def __init__(self, service: Service | None, metrics: Metrics):
        self.service, self.metrics = service, metrics
        self.loaded_at = time.time()
        self.error: str | None = None
        self.seen = ""  # the last reload of another worker this one followed
        if service is not None:
            metrics.loaded(service.model_name, service.version)

    def swap(self, service: Service) -> None:
        self.service, self.loaded_at = service, time.time()
        self.metrics.loaded(service.model_name, service.version)

    def get(self) -> Service:
        if self.service is None:
            raise HTTPException(503, self.error or "the bundle is still loading")
        return self.service

    async def reload(self, why: str) -> Service:
        """Loads the bundle again beside the one serving, checks it, then swaps it in."""
        now = self.get()
        fresh = await asyncio.to_thread(_checked, now.folder, now.index_kind)
        self.swap(fresh)
        ERRORS.info("reloaded %s (%s)", now.folder, why)
        return fresh


def create_app(
    service: Service | Callable[[], Service],
    max_k: int = 100,
    max_body: int = 64 * 1024,
    token: str | None = None,
    history: bool = True,
    metrics: Metrics | None = None,
    reloads: FilePath | None = None,
) -> FastAPI:
    """The app answering from ``service``.

    Args:
        service: the loaded service, or a function that loads it: the app then starts
            at once and loads it in the background (``/ready`` answers 503 until then).
        max_k: the longest list a request may ask for (422 above).
        max_body: the largest request body, in bytes (413 above).
        token: the bearer token every data endpoint needs (None: open).
        history: serve what users did (their history, the user search); False for a
            deployment that only recommends.
        metrics: where requests are counted (a new `Metrics` when None).
        reloads: a file the worker processes of one service share (``ncf serve
            --workers N``): a reload in one writes it, and the others, which look at it
            every second, reload too.
    """
    metrics = metrics or Metrics()
    loader = service if callable(service) and not isinstance(service, Service) else None
    live = Live(None if loader is not None else service, metrics)  # type: ignore[arg-type]
    first = live.service
    app = FastAPIOffline(  # /docs and /redoc from packaged files: no CDN needed
        title="ncf",
        version=first.version if first is not None else __version__,
        summary="Recommendations from a trained model",
        max_body_size=max_body,
        lifespan=_lifespan(live, loader, reloads),
    )
    app.add_middleware(Observe, metrics=metrics)
    guarded = [Depends(bearer(token))] if token is not None else []
    api = APIRouter(dependencies=guarded)
    current = Annotated[Service, Depends(live.get)]
    K = Annotated[int, Query(ge=1, le=max_k, description=f"List length (at most {max_k}).")]
    UserId = Annotated[str, Path(max_length=200, description="A raw user id.")]
    ItemId = Annotated[str, Path(max_length=200, description="A raw item id.")]
    Search = Annotated[str, Query(max_length=200, description="Text to look for.")]
    Limit = Annotated[int, Query(ge=1, le=100)]

    @app.exception_handler(UnknownId)
    async def unknown(request: Request, err: UnknownId) -> JSONResponse:
        return JSONResponse({"detail": str(err), "id": err.id}, status_code=404)

    @app.exception_handler(Exception)
    async def failed(request: Request, err: Exception) -> JSONResponse:
        request_id = request.scope.get("state", {}).get("request_id", "")
        ERRORS.error("request %s failed", request_id, exc_info=err)
        detail = f"internal error; request id {request_id}"
        return JSONResponse({"detail": detail, "request_id": request_id}, status_code=500)

    @app.get("/health")
    async def health() -> Health:
        """The process answers (the bundle may still be loading: see /ready)."""
        now = live.service
        if now is None:
            return Health(status="loading")
        return Health(status="ok", model=now.model_name, users=now.n_users, items=now.n_items)

    @app.get("/ready", responses={503: {"model": Error}})
    async def ready() -> Health:
        """200 once a bundle is loaded and answering, 503 before."""
        now = live.get()
        return Health(status="ready", model=now.model_name, users=now.n_users, items=now.n_items)

    @api.get("/metrics", include_in_schema=False)
    async def prometheus() -> Response:
        text, kind = metrics.exposition()
        return Response(text, media_type=kind)

    @api.get("/v1/model")
    async def model(service: current) -> dict[str, Any]:
        """The model, its data (by name), and its metrics, each labelled with its protocol;
        ``max_k`` is the longest list a request may ask for; ``history`` whether users'
        histories are served; ``loaded_at`` when the bundle was loaded."""
        served = {"max_k": max_k, "history": history, "loaded_at": live.loaded_at}
        return {**service.describe(), **served}

    if history:

        @api.get("/v1/users")
        async def search_users(
            service: current, query: Search = "", limit: Limit = 20
        ) -> list[UserMatch]:
            """Users whose id starts with ``query``."""
            return [UserMatch(**row) for row in service.search_users(query, limit)]

        @api.get("/v1/users/{user_id}", responses={404: {"model": Error}})
        async def user_history(service: current, user_id: UserId, limit: Limit = 50) -> History:
            """The items a user has, most recent first, with their rating when known."""
            return History(**service.history(user_id, limit))

    @api.get(
        "/v1/users/{user_id}/recommendations",
        responses={403: {"model": Error}, 404: {"model": Error}},
    )
    async def user_recommendations(
        service: current, user_id: UserId, k: K = 10, exclude_seen: bool = True
    ) -> Recommendations:
        """A known user's top-k. Without histories (``--no-history``) the user's own items
        are always left out: ``exclude_seen=false`` is refused (403), since which items
        come back, marked seen, would show what the user did."""
        if not history and not exclude_seen:
            raise HTTPException(403, "this service does not show what users did (--no-history)")
        return Recommendations(**service.recommend_user(user_id, k, exclude_seen))

    class NewUserRequest(NewUser):
        k: int = Field(10, ge=1, le=max_k, description=f"List length (at most {max_k}).")

    # fold-in can take many small torch steps (the gradient path): one at a time in a
    # worker thread, so that they neither hold up the event loop nor fight over the GIL
    folding = threading.Lock()

    @api.post("/v1/recommendations", responses={404: {"model": Error}})
    def new_user_recommendations(
        service: current, body: Annotated[NewUserRequest, Body()]
    ) -> Recommendations:
        """A new user's top-k from the items they have (fold-in; none: popularity)."""
        with folding:
            answer = service.recommend_items(
                body.items, body.k, body.exclude_seen, body.exclude_items, body.candidates
            )
        return Recommendations(**answer)

    @api.post("/v1/score")
    def score(service: current, body: Annotated[Pairs, Body()]) -> Scores:
        """The model's score of each (user, item) pair; an unknown id gives its pair an
        error instead of a score, and the other pairs are still scored."""
        return Scores(**service.score_pairs(body.pairs))

    @api.get("/v1/items")
    async def search_items(service: current, query: Search = "", limit: Limit = 20) -> list[Item]:
        """Items whose title (or id, without titles) contains ``query``, most popular first."""
        return [Item(**row) for row in service.search_items(query, limit)]

    @api.get("/v1/items/{item_id}", responses={404: {"model": Error}})
    async def item(service: current, item_id: ItemId) -> Item:
        return Item(**service.item(item_id))

    @api.get("/v1/items/{item_id}/similar", responses={404: {"model": Error}})
    async def similar(service: current, item_id: ItemId, k: K = 10) -> Similar:
        """The items most like one item."""
        return Similar(**service.similar(item_id, k))

    @api.post(
        "/v1/admin/reload",
        dependencies=[Depends(live.get)],  # 503 while the first bundle is loading
        responses={403: {"model": Error}, 500: {"model": Error}},
    )
    async def reload() -> Reloaded:
        """Loads the bundle again (a new one written in its place), checks that it
        answers, then swaps it in; requests in flight finish on the old one. Needs a
        token: without one the service refuses (403)."""
        if token is None:
            raise HTTPException(403, "reload needs the service to run with a token")
        try:
            fresh = await live.reload("POST /v1/admin/reload")
        except Exception as err:  # noqa: BLE001 - the old bundle keeps serving
            ERRORS.exception("reload failed; still serving the previous bundle")
            detail = f"reload failed ({err}); still serving the previous bundle"
            raise HTTPException(500, detail) from None
        if reloads is not None:  # the other workers follow
            live.seen = f"{time.time_ns()} {os.getpid()}"
            reloads.write_text(live.seen)
        return Reloaded(status="reloaded", model=fresh.model_name, loaded_at=live.loaded_at)

    app.include_router(api)

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    app.state.live = live
    return app


def _read(path: FilePath) -> str:
    try:
        return path.read_text()
    except OSError:
        return ""


def _checked(folder: Any, index: str | None) -> Service:
    """A service loaded from ``folder`` that has answered one request."""
    fresh = Service.load(folder, index=index)
    fresh.recommend_items([], 1)  # the popularity path: every model answers it
    if fresh.n_users:
        fresh.recommend_user(str(fresh.user_ids[0]), 1)
    return fresh


def _lifespan(live: Live, loader: Callable[[], Service] | None, reloads: FilePath | None) -> Any:
    """Loads the service in the background when given a loader; reloads it on SIGHUP, and
    when another worker has reloaded (``reloads`` changed)."""
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> Any:
        tasks = []

        async def load() -> None:
            try:
                live.swap(await asyncio.to_thread(loader))  # type: ignore[arg-type]
            except Exception as err:  # noqa: BLE001 - reported on /ready, logged
                live.error = f"the bundle failed to load: {err}"
                ERRORS.error(live.error)

        async def hangup() -> None:
            if live.service is None:
                return
            try:
                await live.reload("SIGHUP, or another worker's reload")
            except Exception:  # noqa: BLE001 - the old bundle keeps serving
                ERRORS.exception("reload failed; still serving the previous bundle")

        async def follow() -> None:
            live.seen = _read(reloads)  # type: ignore[arg-type]
            while True:
                await asyncio.sleep(1)
                now = _read(reloads)  # type: ignore[arg-type]
                if now != live.seen:
                    live.seen = now
                    await hangup()

        if loader is not None:
            tasks.append(asyncio.create_task(load()))
        if reloads is not None:
            tasks.append(asyncio.create_task(follow()))
        loop = asyncio.get_running_loop()
        try:
            loop.add_signal_handler(signal.SIGHUP, lambda: tasks.append(loop.create_task(hangup())))
        except (NotImplementedError, RuntimeError, ValueError):  # not the main thread
            pass
        yield
        for task in tasks:
            task.cancel()

    return lifespan
