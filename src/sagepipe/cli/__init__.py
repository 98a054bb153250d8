"""Thin command-line commands: parse arguments, call the library, print the result."""
