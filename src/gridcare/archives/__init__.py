"""archives room."""
