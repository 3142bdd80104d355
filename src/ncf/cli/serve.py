"""``ncf serve``: the HTTP service and its page over one run."""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path
from typing import Annotated

import typer

from ncf.cli.app import app, console, existing_folder, plural
from ncf.errors import UsageError

ENV_RUN, ENV_INDEX, ENV_MAX_K, ENV_THREADS, ENV_HISTORY, ENV_LOG, ENV_RELOADS = (
    "NCF_SERVE_RUN",
    "NCF_SERVE_INDEX",
    "NCF_SERVE_MAX_K",
    "NCF_SERVE_THREADS",
    "NCF_SERVE_HISTORY",
    "NCF_SERVE_LOG_FORMAT",
    "NCF_SERVE_RELOADS",
)


@app.command()
def serve(
    run_dir: Annotated[Path, typer.Argument(help="A run or bundle folder.")],
    host: Annotated[
        str,
        typer.Option(help="Address to bind; beyond this machine (0.0.0.0) a token is needed."),
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="Port to listen on.")] = 8000,
    workers: Annotated[int, typer.Option(help="Processes, each with the model loaded.")] = 1,
    index: Annotated[
        str | None,
        typer.Option(help="Approximate top-k through faiss (hnsw or ivf; dot-product models)."),
    ] = None,
    max_k: Annotated[int, typer.Option(help="The longest list a request may ask for.")] = 100,
    threads: Annotated[int, typer.Option(help="CPU threads per process for scoring.")] = 1,
    token_file: Annotated[
        Path | None,
        typer.Option(
            help="A file whose first line is the token every data endpoint needs "
            "(Authorization: Bearer TOKEN); NCF_SERVE_TOKEN gives it too."
        ),
    ] = None,
    public: Annotated[
        bool, typer.Option("--public", help="Listen beyond this machine without a token.")
    ] = False,
    no_history: Annotated[
        bool,
        typer.Option("--no-history", help="Do not serve users' histories or the user search."),
    ] = False,
    log_format: Annotated[
        str, typer.Option(help="Access and error log lines on stderr: text or json.")
    ] = "text",
) -> None:
    """Serves a run over HTTP: recommendations for known and new users, scores of pairs,
    similar items, item search, the model's metrics, and a page at / to look at them
    (docs at /docs, Prometheus metrics at /metrics)."""
    from ncf.inference.bundle import bundle_folder

    if workers < 1 or max_k < 1 or threads < 1:
        raise UsageError("--workers, --max-k and --threads must be at least 1")
    if not 0 < port < 65536:
        raise UsageError(f"--port must be between 1 and 65535, got {port}")
    if log_format not in ("text", "json"):
        raise UsageError(f"--log-format is text or json, got {log_format!r}")
    folder = bundle_folder(existing_folder(run_dir)).resolve()
    try:
        import fastapi  # noqa: F401
        import fastapi_offline  # noqa: F401
        import prometheus_client  # noqa: F401
        import uvicorn
    except ImportError:
        raise UsageError("ncf serve needs the serve extra: pip install 'ncf[serve]'") from None
    from ncf.serving.access import ENV_TOKEN, check_exposure, read_token

    token = read_token(token_file)
    warning = check_exposure(host, token, public)
    settings = {
        ENV_RUN: str(folder),
        ENV_INDEX: index or "",
        ENV_MAX_K: str(max_k),
        ENV_THREADS: str(threads),
        ENV_HISTORY: "0" if no_history else "1",
        ENV_LOG: log_format,
    }
    os.environ.update({**settings, **({ENV_TOKEN: token} if token else {})})
    shared = None
    if workers > 1:  # the workers' metrics and reloads meet in one folder
        shared = tempfile.mkdtemp(prefix="ncf-serve-")
        os.environ["PROMETHEUS_MULTIPROC_DIR"] = shared
        os.environ[ENV_RELOADS] = str(Path(shared) / "reloads")
    if workers == 1:  # load here, so that a bad bundle fails before the server starts
        application = app_from_environment()
    if warning:
        print(warning, file=sys.stderr)
    guard = "token required" if token else "no token"
    console.print(
        f"serving {folder.parent.name}/{folder.name} on http://{host}:{port} (page /, API docs "
        f"/docs, metrics /metrics; {guard}; {plural(workers, 'worker')}); Ctrl+C stops",
        markup=False,
    )
    try:
        if workers == 1:
            uvicorn.run(application, host=host, port=port, log_level="warning", access_log=False)
        else:
            uvicorn.run(
                "ncf.cli.serve:app_from_environment",
                factory=True,
                host=host,
                port=port,
                workers=workers,
                log_level="warning",
                access_log=False,
                # SIGHUP replaces each worker once its successor has loaded the bundle;
                # loading (torch and the weights) takes longer than uvicorn's 5 s under load
                timeout_worker_healthcheck=120,
            )
    finally:
        if shared is not None:
            shutil.rmtree(shared, ignore_errors=True)


def app_from_environment():  # noqa: ANN201 - a FastAPI app
    """The app of the run named by ``NCF_SERVE_RUN`` (each worker process loads it once)."""
    import torch

    from ncf.serving.access import ENV_TOKEN
    from ncf.serving.app import create_app
    from ncf.serving.observability import configure_logging
    from ncf.serving.service import Service

    torch.set_num_threads(int(os.environ.get(ENV_THREADS, "1")))
    configure_logging(os.environ.get(ENV_LOG, "text"))
    service = Service.load(os.environ[ENV_RUN], index=os.environ.get(ENV_INDEX) or None)
    return create_app(
        service,
        max_k=int(os.environ.get(ENV_MAX_K, "100")),
        token=os.environ.get(ENV_TOKEN) or None,
        history=os.environ.get(ENV_HISTORY, "1") == "1",
        reloads=Path(os.environ[ENV_RELOADS]) if os.environ.get(ENV_RELOADS) else None,
    )
