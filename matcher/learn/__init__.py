"""Coordinator decisions → training sets → ranker versions with a promotion gate."""
