"""One module per claim that trains: ``grid(profile) -> Grid``, the runs its chapter reads."""
