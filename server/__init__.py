"""Zhurnal: the school server (Litestar app, areas, CLI)."""

__version__ = "0.1.0"
