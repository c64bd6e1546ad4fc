"""acquisition room."""
