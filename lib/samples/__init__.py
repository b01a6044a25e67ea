"""Seeded demo data: support conversations with planted problems, a QA evaluation set, a text to score."""

from lib.samples.writer import SamplesManifest, write_samples

__all__ = ["SamplesManifest", "write_samples"]
