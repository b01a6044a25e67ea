"""The capacity planner: will this model, at this context and batch, fit on these GPUs?"""

from __future__ import annotations

import time

import streamlit as st

from lib import config, jsonsafe
from lib.gpu.figures import capacity_figure
from lib.gpu.planner import DTYPE_BYTES, plan_capacity
from lib.gpu.source import read_snapshot
from lib.models.spec import MODEL_HELP

GIB = 1024**3


def capacity_planner() -> None:
    """A form for the model and workload, then the memory it needs and, per GPU, whether it fits."""
    st.markdown(
        "From the model's config alone (no weights are downloaded or loaded): weights, KV cache "
        "(2 × layers × KV heads × head dim × bytes per token) and overhead, against each GPU's free memory now."
    )
    with st.form("gpu_plan"):
        model_col, dtype_col, context_col, batch_col = st.columns([3, 1, 1, 1])
        spec = model_col.text_input("Model", value=config.default_model_spec(), help=MODEL_HELP, key="gpu_plan_model")
        dtypes = list(DTYPE_BYTES)
        dtype = dtype_col.selectbox("Precision", dtypes, index=dtypes.index("bfloat16"))
        context = context_col.number_input("Context (tokens)", min_value=1, value=8192, step=1024)
        batch = batch_col.number_input(
            "Batch (sequences)",
            min_value=1,
            value=4,
            step=1,
            help="Sequences served at once, each with the full context.",
        )
        submitted = st.form_submit_button("Plan", icon=":material/calculate:")
    if not submitted and "gpu_plan_result" not in st.session_state:
        return
    if submitted:
        st.session_state.pop("gpu_plan_result", None)  # a failed plan must not leave the last one on screen
        snapshot = read_snapshot(with_processes=False)
        st.session_state["gpu_plan_result"] = (
            plan_capacity(spec.strip(), dtype, int(context), int(batch), snapshot.gpus, snapshot.simulated),
            time.time(),
        )
    plan, plan_time = st.session_state["gpu_plan_result"]
    st.caption(f"Planned at {time.strftime('%H:%M:%S', time.localtime(plan_time))} against the GPUs' free memory then.")
    columns = st.columns(5)
    columns[0].metric("Weights", f"{plan.weights_bytes / GIB:.2f} GiB", help=f"{plan.parameters:,} parameters")
    columns[1].metric("KV cache per token", f"{plan.kv_bytes_per_token:,} B")
    columns[2].metric(
        "KV cache", f"{plan.kv_cache_bytes / GIB:.2f} GiB", help=f"{plan.context:,} tokens × {plan.batch}"
    )
    columns[3].metric("Overhead", f"{plan.overhead_bytes / GIB:.2f} GiB", help=plan.overhead_formula)
    columns[4].metric("Total", f"{plan.total_bytes / GIB:.2f} GiB")
    st.caption(f"Overhead = {plan.overhead_formula}")
    for warning in plan.warnings:
        st.warning(warning, icon=":material/warning:")
    st.plotly_chart(capacity_figure(plan), width="stretch")
    if plan.fits:
        for gpu in plan.gpus:
            index = gpu["index"]
            if index not in plan.fits:
                continue
            free = gpu["free_bytes"] / GIB
            label = " (simulated)" if gpu.get("simulated") else ""
            if plan.fits[index]:
                st.success(
                    f"GPU {index}{label}: fits in {free:.1f} GiB free; up to batch {plan.max_batch[index]} "
                    f"at {plan.context:,} tokens.",
                    icon=":material/check_circle:",
                )
            else:
                st.error(
                    f"GPU {index}{label}: does not fit in {free:.1f} GiB free; largest batch at "
                    f"{plan.context:,} tokens: {plan.max_batch[index]}.",
                    icon=":material/block:",
                )
    elif plan.gpus:
        st.warning(
            "The GPUs' free memory cannot be read, so whether it fits is unknown; the figures above are what the "
            "model needs.",
            icon=":material/warning:",
        )
    else:
        st.info("No GPU here to check against; the figures above are what the model needs.", icon=":material/info:")
    st.download_button(
        "Download the plan (JSON)",
        jsonsafe.dumps(plan.to_dict(), indent=2).encode(),
        file_name="capacity-plan.json",
        mime="application/json",
        icon=":material/download:",
    )
