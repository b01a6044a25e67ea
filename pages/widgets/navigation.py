"""The app's pages and their fixed URL paths; `dashboard.py` registers them on every run."""

from __future__ import annotations

import importlib
from dataclasses import dataclass

import streamlit as st


@dataclass(frozen=True)
class PageEntry:
    title: str
    url_path: str
    icon: str
    module: str
    question: str
    built: bool


PAGE_TABLE: tuple[PageEntry, ...] = (
    PageEntry("Overview", "home", ":material/flag:", "pages.home", "What is Pitwall watching, and with what?", True),
    PageEntry(
        "GPU health",
        "gpu",
        ":material/memory:",
        "pages.gpu_health",
        "Are the GPUs healthy, throttling or full, and will this model fit?",
        True,
    ),
    PageEntry(
        "Data quality",
        "data-quality",
        ":material/dataset:",
        "pages.data_quality",
        "Is this dataset clean: duplicates, PII, outliers, junk?",
        True,
    ),
    PageEntry(
        "Evaluation",
        "evaluation",
        ":material/analytics:",
        "pages.evaluation",
        "Is the model still good, and better than the last one?",
        True,
    ),
    PageEntry(
        "Latency",
        "latency",
        ":material/speed:",
        "pages.latency",
        "How fast does the endpoint answer, and are we inside our SLOs?",
        True,
    ),
    PageEntry(
        "Security",
        "security",
        ":material/shield_lock:",
        "pages.security",
        "Who did what, is the data encrypted, and is the setup hardened?",
        False,
    ),
)


def streamlit_page(entry: PageEntry) -> st.Page:
    """The st.Page for one entry; pages are identified by URL path, so building it twice is harmless."""

    def render() -> None:
        # Imported when the page is shown, not when it is registered: a page that fails to import then
        # shows its own error (with an id) instead of taking every other page down with it.
        importlib.import_module(entry.module).render()

    render.__name__ = f"render_{entry.url_path.replace('-', '_')}"
    return st.Page(
        render, title=entry.title, icon=entry.icon, url_path=entry.url_path, default=entry.url_path == "home"
    )


def app_pages() -> list[st.Page]:
    """Every page, in sidebar order."""
    return [streamlit_page(entry) for entry in PAGE_TABLE]
