"""Check reports for people and for CI: text, JSON, JUnit XML, SARIF 2.1.0, GitHub annotations.

Kept apart from the CLI so that every face renders the same words: the
command line prints these, and the pytest plugin uses the same failure
texts for its items.  Rendering never loads z3 (it reads the verdict words
from vverify.vocabulary).
"""
