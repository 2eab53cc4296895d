"""Domain logic: typed functions with explicit dependencies and named exceptions.

Nothing here imports Starlette; handlers in ``portal.web`` call these functions.
"""
