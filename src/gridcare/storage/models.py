"""Imports every room's SQL models so that ``Base.metadata`` is complete (Alembic, create_all)."""

from gridcare.acquisition import models as acquisition_models
from gridcare.archives import asset_models  # noqa: F401 (registers the metering-asset tables)
from gridcare.archives import billing_terms as billing_terms_models  # noqa: F401 (registers the tables)
from gridcare.archives import models as archives_models
from gridcare.billing import models as billing_models  # noqa: F401 (registers the billing tables)
from gridcare.security import models as security_models
from gridcare.storage.base import Base

__all__ = ["Base", "acquisition_models", "archives_models", "security_models"]
