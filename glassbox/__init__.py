"""Glassbox: explain PyTorch models with Captum and SHAP (the `glassbox` command lives in cli.py)."""
from importlib import metadata

try:
    __version__ = metadata.version("glassbox")
except metadata.PackageNotFoundError:  # a checkout that was never pip-installed
    __version__ = "0+checkout"
