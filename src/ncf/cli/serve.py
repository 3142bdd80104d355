"""``ncf serve``: the HTTP service and its page over one run."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Annotated

import typer

from ncf.cli.app import app, console, existing_folder, plural
from ncf.errors import UsageError

ENV_RUN, ENV_INDEX, ENV_MAX_K, ENV_THREADS = (
    "NCF_SERVE_RUN",
    "NCF_SERVE_INDEX",
    "NCF_SERVE_MAX_K",
    "NCF_SERVE_THREADS",
)


@app.command()
def serve(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    host: Annotated[str, typer.Option(help="Address to bind (0.0.0.0: every interface).")] = (
        "127.0.0.1"
    ),
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes, each with the model loaded.")] = 1,
    index: Annotated[
        str | None,
        typer.Option(help="Approximate top-k through faiss (hnsw or ivf; dot-product models)."),
    ] = None,
    max_k: Annotated[int, typer.Option(help="The longest list a request may ask for.")] = 100,
    threads: Annotated[int, typer.Option(help="CPU threads per process for scoring.")] = 1,
) -> None:
    """Serves a run over HTTP: recommendations for known and new users, similar items,
    item search, the model's metrics, and a page at / to look at them (docs at /docs)."""
    from ncf.inference.bundle import bundle_folder

    if workers < 1 or max_k < 1 or threads < 1:
        raise UsageError("--workers, --max-k and --threads must be at least 1")
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    folder = bundle_folder(existing_folder(run_dir)).resolve()
    try:
        import fastapi  # noqa: F401
        import fastapi_offline  # noqa: F401
        import uvicorn
    except ImportError:
        raise UsageError("ncf serve needs the serve extra: pip install 'ncf[serve]'") from None
    os.environ.update(
        {
            ENV_RUN: str(folder),
            ENV_INDEX: index or "",
            ENV_MAX_K: str(max_k),
            ENV_THREADS: str(threads),
        }
    )
    if workers == 1:  # load here, so that a bad bundle fails before the server starts
        application = app_from_environment()
    console.print(
        f"serving {folder} on http://{host}:{port} (page /, API docs /docs, "
        f"{plural(workers, 'worker')}); Ctrl+C stops",
        markup=False,
    )
    if workers == 1:
        uvicorn.run(application, host=host, port=port, log_level="warning")
    else:
        uvicorn.run(
            "ncf.cli.serve:app_from_environment",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="warning",
        )


def app_from_environment():  # noqa: ANN201 - a FastAPI app
    """The app of the run named by ``NCF_SERVE_RUN`` (each worker process loads it once)."""
    import torch

    from ncf.serving.app import create_app
    from ncf.serving.service import Service

    torch.set_num_threads(int(os.environ.get(ENV_THREADS, "1")))
    service = Service.load(os.environ[ENV_RUN], index=os.environ.get(ENV_INDEX) or None)
    return create_app(service, max_k=int(os.environ.get(ENV_MAX_K, "100")))
