"""Imports every model module so `Base.metadata` is complete (Alembic, schema checks, tests)."""

from nexa.db.base import Base
from nexa.tenancy import models as tenancy_models  # noqa: F401
from nexa.jobs import models as jobs_models  # noqa: F401

from nexa.agent_bots import models as agent_bot_models  # noqa: F401
from nexa.auth import models as auth_models  # noqa: F401

metadata = Base.metadata
