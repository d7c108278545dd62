"""The shortlist command's defaults are the one default of page and API."""

import inspect

from matcher.cli.shortlist import shortlist_cmd
from matcher.services.shortlists import DEFAULT_K, DEFAULT_KIND


def test_the_command_defaults_to_the_shortlist_page_and_api_make():
    params = inspect.signature(shortlist_cmd).parameters
    assert params["kind"].default.value == DEFAULT_KIND and params["k"].default == DEFAULT_K
