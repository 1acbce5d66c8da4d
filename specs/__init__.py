"""The bundled ISA specs: data, not code.

One folder per ISA holds its spec, its variants, its guest boot stub and
its benchmark workloads.  This file only makes the folder a package
(``vverify.bundled_specs``, see pyproject.toml), so that importlib.resources
finds it in an installed wheel as in this checkout.
"""
