"""Reproducible benchmarks: ``make bench`` (= ``python -m bench``) runs them all; each prints the
ratios it claims, measured in the same run."""
