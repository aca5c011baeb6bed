"""Outreach articles, pledge texts and quizzes (Markdown/YAML per language) and their loader."""
