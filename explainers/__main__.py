"""`python -m explainers`: the headless command line (see explainers/cli.py)."""
import sys

from explainers.cli import main

sys.exit(main())
