"""The scored graph: parties, edge features, scorers, hard constraints, explanations."""
