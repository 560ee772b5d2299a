"""Pydantic models of what goes into the domain: the ops API's request bodies and queries.

What the API answers is in ``status_page.api.models``.
"""
