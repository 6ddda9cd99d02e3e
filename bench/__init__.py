"""Benchmarks of the Elevate runtime against bare baselines, measured side by side in one run.

Nothing in the product imports this package; run it with `python -m bench`.
"""
