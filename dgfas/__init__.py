"""dgfas: a benchmark for domain-generalized face anti-spoofing."""

__version__ = "0.1.0"
