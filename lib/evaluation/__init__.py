"""Evaluation: perplexity now; reference metrics, human ratings and reports with the evaluation issue."""
