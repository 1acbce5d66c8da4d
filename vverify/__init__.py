"""vverify: can this instruction set be virtualized, how, and at what cost?"""
__version__ = "0.1.0"
