"""disentangle-fas: composable disentanglement components for domain-generalized face anti-spoofing.

The library provides typed building blocks (encoders, heads, losses, content targets,
metrics, data adapters) from which the disentanglement model of "Learning facial liveness
representation for domain generalized face anti-spoofing" and custom variants are built.

Labels follow one convention everywhere: ``1`` = live (bona fide), ``0`` = spoof, and
scores are ``P(live)``.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
