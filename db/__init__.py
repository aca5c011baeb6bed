"""Database models, session, migrations and the domain services; knows nothing of chat."""
