"""Built-in demo models: each module registers one name with models.registry."""
