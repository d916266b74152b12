"""Scoring files and the paper-layout report (Tables 1-4, plots)."""
