"""Imports every room's SQL models so that ``Base.metadata`` is complete (Alembic, create_all)."""

from gridcare.archives import models as archives_models
from gridcare.storage.base import Base

__all__ = ["Base", "archives_models"]
