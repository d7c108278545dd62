"""The service's routes, one module per resource (its JSON API under /api and its Japanese
pages alike); the shared form, CSRF and upload helpers are in ``common``."""
