"""HTTP handlers, one module per actor; thin: parse, call a domain function, render."""
