"""One module per feature; importing a module registers its callbacks with ``dash.callback``."""
