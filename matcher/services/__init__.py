"""Operations the CLI and the web service call: shortlists, directory, users, the demo job."""
