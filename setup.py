"""Packaging beyond what pyproject.toml can say: templates/ and static/ stay at the top of
the checkout (where people edit them) but ship inside the package as portal/templates and
portal/static, so a wheel works outside the checkout (portal/web/rendering.py looks inside
the package first). Everything else is in pyproject.toml."""

from setuptools import find_packages, setup

setup(
    packages=[*find_packages(include=["portal*"]), "portal.templates", "portal.static"],
    package_dir={"portal.templates": "templates", "portal.static": "static"},
)
