"""Data quality: read a dataset, profile its text (duplicates, PII, heuristics, languages), check rules, clean it."""
