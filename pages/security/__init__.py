"""Security page: login and roles, encryption at rest, audit log, redaction, posture (not built yet)."""

import streamlit as st

from pages.widgets.feedback import not_built_yet


def render() -> None:
    st.title("Security")
    st.caption("Who did what, is the data encrypted, and is the setup hardened?")
    not_built_yet(
        "Security",
        [
            "Login and roles (engineer, analyst, manager, admin).",
            "Encryption at rest with Fernet, and key rotation.",
            "A tamper-evident audit log.",
            "PII redaction, and a check of this installation's hardening.",
        ],
    )
