"""billing room."""
