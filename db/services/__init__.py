"""Domain services: the rules of the movement, used by handlers, jobs and the CLI."""
