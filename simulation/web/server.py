"""Starting the web application: ``pathways serve``.

Serves the application with uvicorn on the loopback address by default, so only this
computer can reach it; ``--host 0.0.0.0`` exposes it to the network, which is safe only
behind a proxy that signs users in (``--user-header``) or on a network where everyone
may use it. Jobs run in this process, one at a time, on the executor given.
"""

from __future__ import annotations

from pathlib import Path

import uvicorn

from simulation.web.app import Settings, create_app

LOOPBACK = "127.0.0.1"


def serve(
    workspace: Path,
    host: str = LOOPBACK,
    port: int = 8000,
    workers: int | None = None,
    cluster: str | None = None,
    user_header: str | None = None,
    examples: Path | None = None,
) -> None:
    """Run the web application until interrupted (Ctrl-C stops it; jobs resume next time).

    Raises :class:`~simulation.web.workspace.WorkspaceBusy` if another server runs the
    workspace's jobs.
    """
    app = create_app(
        Settings(
            workspace=workspace,
            workers=workers,
            cluster=cluster,
            user_header=user_header,
            examples=examples,
        )
    )
    app.state.site.workspace.hold().close()  # refuse before listening if another server runs
    uvicorn.run(app, host=host, port=port, log_level="warning", proxy_headers=False)
