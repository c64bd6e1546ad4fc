"""mdm room."""
