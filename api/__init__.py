"""The coordinator's desk: a FastAPI service and Japanese web pages over the ``matcher`` library."""
