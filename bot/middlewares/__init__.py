"""Update middlewares: one transaction per update, the member, and role checks."""
