"""The HTTP service: a FastAPI app over one loaded bundle, and the page at ``/``.

    >>> app = create_app(Service.load("runs/neumf"))
    >>> # uvicorn: ncf serve runs/neumf --port 8000

Endpoints (OpenAPI at ``/docs`` and ``/redoc``, served offline): ``GET /health``;
``GET /v1/model``; ``GET /v1/users`` (search); ``GET /v1/users/{id}`` (history);
``GET /v1/users/{id}/recommendations``; ``POST /v1/recommendations`` (a new user from
their items); ``GET /v1/items`` (search by title); ``GET /v1/items/{id}``;
``GET /v1/items/{id}/similar``. Unknown ids answer 404 naming the id, bad parameters
422, a body over the limit 413. No endpoint takes a path: the bundle is the one given at
start.
"""

import threading
from importlib.resources import files
from typing import Annotated, Any

from fastapi import Body, FastAPI, Path, Query, Request
from fastapi.responses import HTMLResponse, JSONResponse
from fastapi.staticfiles import StaticFiles
from fastapi_offline import FastAPIOffline
from pydantic import BaseModel, ConfigDict, Field

from ncf.serving.service import Service, UnknownId

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
    model: str
    users: int
    items: int


def create_app(service: Service, max_k: int = 100, max_body: int = 64 * 1024) -> FastAPI:
    """The app answering from ``service``.

    Args:
        max_k: the longest list a request may ask for (422 above).
        max_body: the largest request body, in bytes (413 above).
    """
    app = FastAPIOffline(  # /docs and /redoc from packaged files: no CDN needed
        title="ncf",
        version=service.version,
        summary=f"Recommendations from a trained {service.model_name} model",
        max_body_size=max_body,
    )
    K = Annotated[int, Query(ge=1, le=max_k, description=f"List length (at most {max_k}).")]
    UserId = Annotated[str, Path(max_length=200, description="A raw user id.")]
    ItemId = Annotated[str, Path(max_length=200, description="A raw item id.")]
    Search = Annotated[str, Query(max_length=200, description="Text to look for.")]
    Limit = Annotated[int, Query(ge=1, le=100)]

    @app.exception_handler(UnknownId)
    async def unknown(request: Request, err: UnknownId) -> JSONResponse:
        return JSONResponse({"detail": str(err), "id": err.id}, status_code=404)

    @app.get("/health")
    async def health() -> Health:
        return Health(
            status="ok", model=service.model_name, users=service.n_users, items=service.n_items
        )

    @app.get("/v1/model")
    async def model() -> dict[str, Any]:
        """The model, its data, and its metrics, each labelled with its protocol; ``max_k``
        is the longest list a request may ask for."""
        return {**service.describe(), "max_k": max_k}

    @app.get("/v1/users")
    async def search_users(query: Search = "", limit: Limit = 20) -> list[UserMatch]:
        """Users whose id starts with ``query``."""
        return [UserMatch(**row) for row in service.search_users(query, limit)]

    @app.get("/v1/users/{user_id}", responses={404: {"model": Error}})
    async def user_history(user_id: UserId, limit: Limit = 50) -> History:
        """The items a user has, most recent first, with their rating when known."""
        return History(**service.history(user_id, limit))

    @app.get("/v1/users/{user_id}/recommendations", responses={404: {"model": Error}})
    async def user_recommendations(
        user_id: UserId, k: K = 10, exclude_seen: bool = True
    ) -> Recommendations:
        """A known user's top-k."""
        return Recommendations(**service.recommend_user(user_id, k, exclude_seen))

    class NewUserRequest(NewUser):
        k: int = Field(10, ge=1, le=max_k, description=f"List length (at most {max_k}).")

    # fold-in can take many small torch steps (the gradient path): one at a time in a
    # worker thread, so that they neither hold up the event loop nor fight over the GIL
    folding = threading.Lock()

    @app.post("/v1/recommendations", responses={404: {"model": Error}})
    def new_user_recommendations(body: Annotated[NewUserRequest, Body()]) -> Recommendations:
        """A new user's top-k from the items they have (fold-in; none: popularity)."""
        with folding:
            answer = service.recommend_items(
                body.items, body.k, body.exclude_seen, body.exclude_items, body.candidates
            )
        return Recommendations(**answer)

    @app.get("/v1/items")
    async def search_items(query: Search = "", limit: Limit = 20) -> list[Item]:
        """Items whose title (or id, without titles) contains ``query``, most popular first."""
        return [Item(**row) for row in service.search_items(query, limit)]

    @app.get("/v1/items/{item_id}", responses={404: {"model": Error}})
    async def item(item_id: ItemId) -> Item:
        return Item(**service.item(item_id))

    @app.get("/v1/items/{item_id}/similar", responses={404: {"model": Error}})
    async def similar(item_id: ItemId, k: K = 10) -> Similar:
        """The items most like one item."""
        return Similar(**service.similar(item_id, k))

    @app.get("/", include_in_schema=False)
    def page() -> HTMLResponse:
        return HTMLResponse((STATIC / "index.html").read_text(encoding="utf-8"))

    app.mount("/static", StaticFiles(directory=str(STATIC)), name="static")
    return app
