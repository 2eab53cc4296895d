"""Storage: the only package that writes SQL."""
