"""Model load time: the converted safetensors cache (ours) vs loading the GGUF file every time (baseline).

Claim: after a one-time conversion, the embedded model loads in under 2 s instead of about 20 s.
"""

import os
import statistics
import tempfile
import time

from _common import report

from lib.models import embedded, load_model


def timed(fn) -> float:
    started = time.perf_counter()
    fn()
    return time.perf_counter() - started


def load_gguf_directly() -> None:
    from transformers import AutoModelForCausalLM, AutoTokenizer

    path = embedded.gguf_path()
    AutoTokenizer.from_pretrained(path.parent, gguf_file=path.name)
    AutoModelForCausalLM.from_pretrained(path.parent, gguf_file=path.name)


def main() -> None:
    with tempfile.TemporaryDirectory() as cache:
        os.environ["PITWALL_MODEL_CACHE"] = cache
        first = timed(lambda: load_model("smollm2-135m", dtype="float32"))
        later = statistics.median(timed(lambda: load_model("smollm2-135m", dtype="float32")) for _ in range(3))
        baseline = timed(load_gguf_directly)
    print(f"first load (converts GGUF -> safetensors once): {first:.2f} s")
    report("later load", later, baseline, "s", higher_is_better=False)


if __name__ == "__main__":
    main()
