"""Pitwall: the entry script. Start it with `make run`, `python dashboard.py` or `streamlit run dashboard.py`.

The module-level `app = st.App(...)` puts Streamlit in ASGI mode: `lifespan` runs once per server
(logging, the job workers) and `on_script_error` catches what a page did not. The page-drawing
code below runs only inside a script run, not when uvicorn imports this file to find `app`.
"""

import asyncio
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

import streamlit as st
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route
from streamlit import runtime
from streamlit.runtime.scriptrunner import get_script_run_ctx

from lib.gpu.collector import ensure_server_collector, stop_server_collector
from lib.jobs import ensure_runner, stop_runner
from lib.latency.ingest_http import ingest_route
from lib.latency.serve import stop_own_serve
from lib.latency.watch import start_watcher, stop_watcher
from lib.logs import log, setup_logging
from pages.widgets.feedback import report_script_error


@asynccontextmanager
async def lifespan(_app: st.App) -> AsyncIterator[None]:
    """Once per server: logging, the job dispatcher, the GPU collector and the SLO watcher; on shutdown, running jobs
    are interrupted."""
    setup_logging("server")
    ensure_runner()
    ensure_server_collector()
    start_watcher()  # SLO burn-rate alerts resolve as time passes, even with no new traffic
    log.info("Pitwall server started")
    yield
    stop_watcher()
    stop_own_serve()  # a local `transformers serve` started from this server's page stops with it
    stop_server_collector()
    stop_runner()
    log.info("Pitwall server stopped")


async def metrics(_request: Request) -> Response:
    """This machine's GPUs in Prometheus' text format, on the dashboard's own port (as `gpu exporter` serves them)."""
    from prometheus_client import CONTENT_TYPE_LATEST

    from lib.gpu.exporter import metrics_text
    from lib.gpu.source import current_reader

    body = await asyncio.to_thread(lambda: metrics_text(current_reader()))  # NVML calls block; keep the loop free
    return Response(body, media_type=CONTENT_TYPE_LATEST)


app = st.App(
    __file__,
    routes=[Route("/metrics", metrics), Route("/api/latency/ingest", ingest_route, methods=["POST"])],
    lifespan=lifespan,
    on_script_error=report_script_error,
)


def serve(argv: list[str]) -> None:
    """`python dashboard.py [streamlit options]`: run the server with the legacy `pages/` mode off from the start.

    A `pages/` folder beside this script makes a fresh server's first run use Streamlit's legacy
    multipage mode: it runs this script (st.navigation below still takes over, so no page file is ever
    run directly), but first shows a "Page not found" dialog for any URL other than "/". Declaring
    the st.navigation mode before the server starts removes that first-request dialog.
    """
    from streamlit.runtime.pages_manager import PagesManager
    from streamlit.web import cli

    PagesManager.uses_pages_directory = False
    sys.argv = ["streamlit", "run", __file__, *argv]
    sys.exit(cli.main())


if __name__ == "__main__" and not runtime.exists():
    serve(sys.argv[1:])

if get_script_run_ctx(suppress_warning=True) is not None:
    from pages.widgets.navigation import app_pages
    from pages.widgets.status import sidebar_status

    # On every run, first: st.navigation switches Streamlit out of its legacy `pages/` mode, so every URL
    # runs this script (and whatever gate it will hold) rather than a page file directly.
    page = st.navigation(app_pages())
    st.set_page_config(page_title=f"{page.title} · Pitwall", page_icon=":material/flag:", layout="wide")
    sidebar_status()
    page.run()
