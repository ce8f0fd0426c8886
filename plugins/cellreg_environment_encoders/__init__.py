"""Bundled environment encoders: categorical, numeric and dose-response columns to vectors."""
