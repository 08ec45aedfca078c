"""browser stage."""
