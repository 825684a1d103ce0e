"""Package data that Glassbox ships (demo weights, model cards, samples), found via importlib.resources."""
