"""Who may use ``ncf serve``: a bearer token, and where the service may listen without one.

With a token (``--token-file FILE`` or ``NCF_SERVE_TOKEN``), every endpoint but
``/health`` and ``/ready`` (and the page and API docs, which hold no data) needs
``Authorization: Bearer <token>``: 401 without it, 403 with another token, compared in
constant time. Without a token the service listens on a loopback address only, unless
the owner says ``--public``.
"""

import hmac
import ipaddress
import os
from pathlib import Path
from typing import Annotated, Any

from fastapi import Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from ncf.errors import UsageError

ENV_TOKEN = "NCF_SERVE_TOKEN"


def read_token(path: Path | None) -> str | None:
    """The token of ``path`` (its first line), else of ``NCF_SERVE_TOKEN``, else None;
    either must be at least 16 characters."""
    if path is None:
        given = os.environ.get(ENV_TOKEN)
        if given is None or given == "":
            return None
        where = ENV_TOKEN
        token = given.strip()
    else:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise UsageError(f"{path}: cannot read the token ({err})") from None
        where = f"{path} (its first line)"
        token = lines[0].strip() if lines else ""
    if len(token) < 16:
        raise UsageError(f"{where}: the token must be at least 16 characters")
    return token


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable from this machine only (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_exposure(host: str, token: str | None, public: bool) -> str | None:
    """Refuses to listen beyond this machine without a token unless ``public``; returns
    the warning to print when ``public`` opens it anyway."""
    if token is not None or is_loopback(host):
        return None
    if not public:
        raise UsageError(
            f"--host {host} without a token would open every endpoint to the network: give "
            f"--token-file FILE (or {ENV_TOKEN}), or --public if that is what you mean"
        )
    return f"warning: serving on {host} without a token: anyone who can reach it can use it"


def bearer(token: str) -> Any:
    """A dependency that lets a request through only with ``token``."""
    scheme = HTTPBearer(auto_error=False, description="The token given to ncf serve.")
    expected = token.encode()

    async def check(
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(scheme)],
    ) -> None:
        if credentials is None:
            raise HTTPException(
                401,
                "this service needs its token as Authorization: Bearer <token>",
                headers={"WWW-Authenticate": "Bearer"},
            )
        if not hmac.compare_digest(credentials.credentials.encode(), expected):
            raise HTTPException(403, "wrong token")

    return check
