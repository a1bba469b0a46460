"""Foundations every stage may use: the exception tree, threads, input limits, the per-user
cache, number formatting and the rank statistics. Imports nothing else of the package."""
