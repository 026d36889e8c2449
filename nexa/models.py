"""Imports every model module so `Base.metadata` is complete (Alembic, schema checks, tests)."""

from nexa.agent_bots import models as agent_bot_models  # noqa: F401
from nexa.analytics import models as analytics_models  # noqa: F401
from nexa.auth import models as auth_models  # noqa: F401
from nexa.automation import models as automation_models  # noqa: F401
from nexa.bot import models as bot_models  # noqa: F401
from nexa.bot.llm import models as bot_llm_models  # noqa: F401
from nexa.bot.rules import models as bot_rule_models  # noqa: F401
from nexa.canned_responses import models as canned_response_models  # noqa: F401
from nexa.catalog import models as catalog_models  # noqa: F401
from nexa.channels import models as channel_models  # noqa: F401
from nexa.contacts import models as contact_models  # noqa: F401
from nexa.conversations import models as conversation_models  # noqa: F401
from nexa.db.base import Base
from nexa.inboxes import models as inbox_models  # noqa: F401
from nexa.jobs import models as jobs_models  # noqa: F401
from nexa.knowledge import models as knowledge_models  # noqa: F401
from nexa.labels import models as label_models  # noqa: F401
from nexa.notifications import models as notification_models  # noqa: F401
from nexa.teams import models as team_models  # noqa: F401
from nexa.tenancy import models as tenancy_models  # noqa: F401
from nexa.webhooks import models as webhook_models  # noqa: F401

metadata = Base.metadata
