"""Gettext catalogs of the interface text: vi (default) and en."""
