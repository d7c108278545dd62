"""Infrastructure the use cases run on: the background job runner."""
