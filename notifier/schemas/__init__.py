"""Pydantic models of what goes into and comes out of the domain (and the ops API)."""
