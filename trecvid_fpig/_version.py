"""The package version, in a module of its own so that stages can name it without importing the
package root (which loads the API on demand)."""
__version__ = "0.1.0"
