"""initial schema

Revision ID: 0001
Revises: 
Create Date: 2026-11-21
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql
import nexa.db.types

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None

# Autogenerate cannot render expression indexes; this one is nexa.jobs.models' ix_jobs_finished.
_FINISHED = "state IN ('completed', 'discarded', 'cancelled')"


def upgrade() -> None:
    op.create_table('accounts',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('locale', sa.String(length=16), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('status', sa.Enum('active', 'suspended', name='accountstatus', native_enum=False, length=16), nullable=False),
    sa.Column('plan', sa.String(length=32), nullable=False),
    sa.Column('limits', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('branding', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('support_email', sa.String(length=255), nullable=True),
    sa.Column('custom_domain', sa.String(length=255), nullable=True),
    sa.Column('settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('custom_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('last_conversation_display_id', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_accounts')),
    sa.UniqueConstraint('custom_domain', name=op.f('uq_accounts_custom_domain'))
    )
    op.create_table('jobs',
    sa.Column('queue', sa.String(length=64), nullable=False),
    sa.Column('kind', sa.String(length=128), nullable=False),
    sa.Column('args', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('state', sa.String(length=16), nullable=False),
    sa.Column('priority', sa.SmallInteger(), nullable=False),
    sa.Column('attempt', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('scheduled_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('attempted_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('attempted_by', sa.String(length=128), nullable=True),
    sa.Column('heartbeat_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('completed_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('discarded_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('cancelled_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('errors', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('dedupe_key', sa.String(length=255), nullable=True),
    sa.Column('concurrency_key', sa.String(length=255), nullable=True),
    sa.Column('account_id', sa.BigInteger(), nullable=True),
    sa.Column('inserted_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.CheckConstraint("state IN ('available', 'scheduled', 'executing', 'retryable', 'completed', 'discarded', 'cancelled')", name=op.f('ck_jobs_state')),
    sa.CheckConstraint('max_attempts > 0', name=op.f('ck_jobs_max_attempts')),
    sa.CheckConstraint('priority BETWEEN 0 AND 9', name=op.f('ck_jobs_priority')),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_dedupe_key', ['dedupe_key'], unique=False, sqlite_where=sa.text('dedupe_key IS NOT NULL'), postgresql_where=sa.text('dedupe_key IS NOT NULL'))
        batch_op.create_index('ix_jobs_fetch', ['queue', 'priority', 'scheduled_at', 'id'], unique=False, sqlite_where=sa.text("state = 'available'"), postgresql_where=sa.text("state = 'available'"))
        batch_op.create_index('ix_jobs_heartbeat', ['heartbeat_at'], unique=False, sqlite_where=sa.text("state = 'executing'"), postgresql_where=sa.text("state = 'executing'"))
        batch_op.create_index('ix_jobs_stage', ['scheduled_at'], unique=False, sqlite_where=sa.text("state IN ('scheduled', 'retryable')"), postgresql_where=sa.text("state IN ('scheduled', 'retryable')"))
        batch_op.create_index('uq_jobs_concurrency_key_executing', ['concurrency_key'], unique=True, sqlite_where=sa.text("state = 'executing'"), postgresql_where=sa.text("state = 'executing'"))
        batch_op.create_index('uq_jobs_dedupe_key_live', ['dedupe_key'], unique=True, sqlite_where=sa.text("state IN ('available', 'scheduled', 'executing', 'retryable')"), postgresql_where=sa.text("state IN ('available', 'scheduled', 'executing', 'retryable')"))
    op.create_index(
        'ix_jobs_finished', 'jobs', [sa.text('coalesce(completed_at, discarded_at, cancelled_at)')],
        sqlite_where=sa.text(_FINISHED), postgresql_where=sa.text(_FINISHED),
    )

    op.create_table('users',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('display_name', sa.String(length=255), nullable=True),
    sa.Column('email', sa.String(length=255), nullable=False),
    sa.Column('password_hash', sa.String(length=255), nullable=True),
    sa.Column('locale', sa.String(length=16), nullable=True),
    sa.Column('ui_settings', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('custom_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('message_signature', sa.String(length=1024), nullable=True),
    sa.Column('pubsub_token', sa.String(length=64), nullable=False),
    sa.Column('is_active', sa.Boolean(), nullable=False),
    sa.Column('last_login_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_users')),
    sa.UniqueConstraint('email', name=op.f('uq_users_email')),
    sa.UniqueConstraint('pubsub_token', name=op.f('uq_users_pubsub_token'))
    )
    op.create_table('access_tokens',
    sa.Column('owner_type', sa.Enum('user', 'agent_bot', name='tokenowner', native_enum=False, length=16), nullable=False),
    sa.Column('owner_id', sa.BigInteger(), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('lookup_id', sa.String(length=32), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('encrypted_token', sa.String(length=512), nullable=True),
    sa.Column('is_personal', sa.Boolean(), nullable=False),
    sa.Column('scopes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=True),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('last_used_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('expires_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_access_tokens_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_access_tokens')),
    sa.UniqueConstraint('lookup_id', name=op.f('uq_access_tokens_lookup_id'))
    )
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_access_tokens_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_access_tokens_owner', ['owner_type', 'owner_id'], unique=False)

    op.create_table('account_users',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('role', sa.Enum('owner', 'administrator', 'agent', name='role', native_enum=False, length=16), nullable=False),
    sa.Column('availability', sa.Enum('online', 'busy', 'offline', name='availability', native_enum=False, length=16), nullable=False),
    sa.Column('auto_offline', sa.Boolean(), nullable=False),
    sa.Column('active_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('inviter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_account_users_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inviter_id'], ['users.id'], name=op.f('fk_account_users_inviter_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_account_users_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_account_users')),
    sa.UniqueConstraint('account_id', 'user_id', name=op.f('uq_account_users_account_id_user_id'))
    )
    with op.batch_alter_table('account_users', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_account_users_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_account_users_user_id'), ['user_id'], unique=False)

    op.create_table('agent_bots',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('outgoing_url', sa.String(length=2048), nullable=True),
    sa.Column('bot_type', sa.String(length=32), nullable=False),
    sa.Column('bot_config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('avatar_url', sa.String(length=2048), nullable=True),
    sa.Column('encrypted_secret', sa.String(length=512), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_agent_bots_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_agent_bots'))
    )
    with op.batch_alter_table('agent_bots', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_agent_bots_account_id'), ['account_id'], unique=False)

    op.create_table('audit_events',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('actor_user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('action', sa.String(length=64), nullable=False),
    sa.Column('target_type', sa.String(length=32), nullable=True),
    sa.Column('target_id', sa.BigInteger(), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('details', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_audit_events_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['actor_user_id'], ['users.id'], name=op.f('fk_audit_events_actor_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_audit_events'))
    )
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.create_index('ix_audit_events_account_created', ['account_id', 'created_at'], unique=False)

    op.create_table('auth_sessions',
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('kind', sa.Enum('api', 'web', name='sessionkind', native_enum=False, length=8), nullable=False),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('family_id', sa.String(length=32), nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('rotated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('revoked_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('ip', sa.String(length=64), nullable=True),
    sa.Column('user_agent', sa.String(length=512), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_auth_sessions_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_auth_sessions')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_auth_sessions_token_hash'))
    )
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_auth_sessions_family_id'), ['family_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_auth_sessions_user_id'), ['user_id'], unique=False)

    op.create_table('automation_rules',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('event_name', sa.String(length=32), nullable=False),
    sa.Column('conditions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('actions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_automation_rules_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_automation_rules'))
    )
    with op.batch_alter_table('automation_rules', schema=None) as batch_op:
        batch_op.create_index('ix_automation_rules_account_event', ['account_id', 'event_name', 'active'], unique=False)
        batch_op.create_index(batch_op.f('ix_automation_rules_account_id'), ['account_id'], unique=False)

    op.create_table('bot_llm_configs',
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('base_url', sa.String(length=2048), nullable=False),
    sa.Column('model', sa.String(length=255), nullable=False),
    sa.Column('api_key_encrypted', sa.Text(), nullable=True),
    sa.Column('persona', sa.Text(), nullable=False),
    sa.Column('instructions', sa.Text(), nullable=False),
    sa.Column('reply_language', sa.String(length=16), nullable=False),
    sa.Column('max_history_messages', sa.Integer(), nullable=False),
    sa.Column('temperature', sa.Float(), nullable=False),
    sa.Column('timeout_seconds', sa.Float(), nullable=False),
    sa.Column('daily_token_budget', sa.Integer(), nullable=True),
    sa.Column('breaker_failure_threshold', sa.Integer(), nullable=False),
    sa.Column('breaker_open_seconds', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bot_llm_configs_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_llm_configs')),
    sa.UniqueConstraint('account_id', name=op.f('uq_bot_llm_configs_account_id'))
    )
    with op.batch_alter_table('bot_llm_configs', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_llm_configs_account_id'), ['account_id'], unique=False)

    op.create_table('bot_rules',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('kind', sa.Enum('keyword', 'pattern', 'greeting', 'thanks', 'goodbye', name='rulekind', native_enum=False, length=16), nullable=False),
    sa.Column('keywords', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('pattern', sa.String(length=1000), nullable=True),
    sa.Column('reply', sa.Text(), nullable=True),
    sa.Column('action', sa.Enum('reply', 'handoff', name='ruleaction', native_enum=False, length=16), nullable=False),
    sa.Column('continue_flow', sa.Boolean(), nullable=False),
    sa.Column('priority', sa.Integer(), nullable=False),
    sa.Column('inbox_ids', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('business_hours', sa.Enum('any', 'open', 'closed', name='businesshours', native_enum=False, length=16), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('usage_count', sa.Integer(), nullable=False),
    sa.Column('last_used_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bot_rules_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_rules'))
    )
    with op.batch_alter_table('bot_rules', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_rules_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_bot_rules_account_priority', ['account_id', 'priority', 'id'], unique=False)

    op.create_table('bot_settings',
    sa.Column('config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('rules_version', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bot_settings_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_settings')),
    sa.UniqueConstraint('account_id', name=op.f('uq_bot_settings_account_id'))
    )
    with op.batch_alter_table('bot_settings', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_settings_account_id'), ['account_id'], unique=False)

    op.create_table('canned_responses',
    sa.Column('short_code', sa.String(length=255), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_canned_responses_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_canned_responses')),
    sa.UniqueConstraint('account_id', 'short_code', name=op.f('uq_canned_responses_account_id_short_code'))
    )
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_canned_responses_account_id'), ['account_id'], unique=False)

    op.create_table('catalog_items',
    sa.Column('kind', sa.Enum('product', 'service', name='itemkind', native_enum=False, length=16), nullable=False),
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=False),
    sa.Column('price', sa.Numeric(precision=12, scale=2), nullable=True),
    sa.Column('currency', sa.String(length=3), nullable=False),
    sa.Column('sku', sa.String(length=64), nullable=True),
    sa.Column('availability', sa.Enum('available', 'unavailable', 'on_request', name='availability', native_enum=False, length=16), nullable=False),
    sa.Column('duration_minutes', sa.Integer(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_catalog_items_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_catalog_items')),
    sa.UniqueConstraint('account_id', 'sku', name=op.f('uq_catalog_items_account_id_sku'))
    )
    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_catalog_items_account_id'), ['account_id'], unique=False)

    op.create_table('contacts',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('email', sa.String(length=255), nullable=True),
    sa.Column('phone_number', sa.String(length=32), nullable=True),
    sa.Column('phone_key', sa.String(length=32), nullable=True),
    sa.Column('identifier', sa.String(length=255), nullable=True),
    sa.Column('avatar_url', sa.String(length=2048), nullable=True),
    sa.Column('blocked', sa.Boolean(), nullable=False),
    sa.Column('additional_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('custom_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('last_activity_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('lead_status', sa.Enum('new', 'qualified', 'in_service', 'converted', 'lost', name='leadstatus', native_enum=False, length=16), nullable=False),
    sa.Column('lead_score', sa.Integer(), nullable=True),
    sa.Column('lead_score_reasons', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('opted_out_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contacts_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contacts')),
    sa.UniqueConstraint('account_id', 'email', name=op.f('uq_contacts_account_id_email')),
    sa.UniqueConstraint('account_id', 'identifier', name=op.f('uq_contacts_account_id_identifier')),
    sa.UniqueConstraint('account_id', 'phone_key', name=op.f('uq_contacts_account_id_phone_key'))
    )
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contacts_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_contacts_account_last_activity', ['account_id', 'last_activity_at'], unique=False)

    op.create_table('invitations',
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('inviter_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('token_hash', sa.String(length=64), nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('expires_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('used_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_invitations_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inviter_id'], ['users.id'], name=op.f('fk_invitations_inviter_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_invitations_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_invitations')),
    sa.UniqueConstraint('token_hash', name=op.f('uq_invitations_token_hash'))
    )
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_invitations_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_invitations_user_id'), ['user_id'], unique=False)

    op.create_table('knowledge_documents',
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('format', sa.Enum('pdf', 'docx', 'xlsx', 'csv', 'txt', 'markdown', 'faq', 'catalog', name='documentformat', native_enum=False, length=16), nullable=False),
    sa.Column('filename', sa.String(length=255), nullable=True),
    sa.Column('size_bytes', sa.BigInteger(), nullable=False),
    sa.Column('storage_key', sa.String(length=255), nullable=True),
    sa.Column('source_url', sa.Text(), nullable=True),
    sa.Column('status', sa.Enum('queued', 'indexing', 'ready', 'failed', name='documentstatus', native_enum=False, length=16), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('language', sa.String(length=2), nullable=True),
    sa.Column('chunk_count', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_knowledge_documents_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_documents'))
    )
    with op.batch_alter_table('knowledge_documents', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_documents_account_id'), ['account_id'], unique=False)

    op.create_table('labels',
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('color', sa.String(length=16), nullable=False),
    sa.Column('show_on_sidebar', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_labels_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_labels')),
    sa.UniqueConstraint('account_id', 'title', name=op.f('uq_labels_account_id_title'))
    )
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_labels_account_id'), ['account_id'], unique=False)

    op.create_table('reporting_events',
    sa.Column('name', sa.Enum('conversation_opened', 'conversation_resolved', 'first_response', 'reply_time', 'conversation_bot_handoff', 'conversation_bot_resolved', name='reportingeventname', native_enum=False, length=48), nullable=False),
    sa.Column('value', sa.Float(), nullable=False),
    sa.Column('value_in_business_hours', sa.Float(), nullable=True),
    sa.Column('inbox_id', sa.BigInteger(), nullable=True),
    sa.Column('user_id', sa.BigInteger(), nullable=True),
    sa.Column('conversation_id', sa.BigInteger(), nullable=True),
    sa.Column('event_start_time', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('event_end_time', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_reporting_events_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_reporting_events'))
    )
    with op.batch_alter_table('reporting_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_reporting_events_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_reporting_events_account_name_created', ['account_id', 'name', 'created_at'], unique=False)
        batch_op.create_index('ix_reporting_events_conversation', ['conversation_id', 'name'], unique=False)

    op.create_table('teams',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('description', sa.Text(), nullable=True),
    sa.Column('allow_auto_assign', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_teams_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_teams')),
    sa.UniqueConstraint('account_id', 'name', name=op.f('uq_teams_account_id_name'))
    )
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_teams_account_id'), ['account_id'], unique=False)

    op.create_table('webhook_events',
    sa.Column('name', sa.String(length=64), nullable=False),
    sa.Column('body', sa.Text(), nullable=False),
    sa.Column('conversation_id', sa.BigInteger(), nullable=True),
    sa.Column('message_id', sa.BigInteger(), nullable=True),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhook_events_account_id_accounts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_events'))
    )
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_events_account_id'), ['account_id'], unique=False)

    op.create_table('contact_labels',
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contact_labels_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_labels_contact_id_contacts'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_labels')),
    sa.UniqueConstraint('contact_id', 'title', name=op.f('uq_contact_labels_contact_id_title'))
    )
    with op.batch_alter_table('contact_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_labels_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_contact_labels_account_title', ['account_id', 'title'], unique=False)

    op.create_table('contact_notes',
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contact_notes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_notes_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_contact_notes_user_id_users'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_notes'))
    )
    with op.batch_alter_table('contact_notes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_notes_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_contact_notes_contact', ['contact_id', 'id'], unique=False)

    op.create_table('inboxes',
    sa.Column('name', sa.String(length=255), nullable=False),
    sa.Column('channel_type', sa.Enum('whatsapp_cloud', 'evolution', 'telegram', 'web_widget', 'api', name='channeltype', native_enum=False, length=32), nullable=False),
    sa.Column('channel_config', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('encrypted_credentials', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('public_id', sa.String(length=32), nullable=False),
    sa.Column('avatar_url', sa.String(length=2048), nullable=True),
    sa.Column('greeting_enabled', sa.Boolean(), nullable=False),
    sa.Column('greeting_message', sa.Text(), nullable=True),
    sa.Column('working_hours_enabled', sa.Boolean(), nullable=False),
    sa.Column('working_hours', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('timezone', sa.String(length=64), nullable=False),
    sa.Column('out_of_office_message', sa.Text(), nullable=True),
    sa.Column('enable_auto_assignment', sa.Boolean(), nullable=False),
    sa.Column('max_assignment_limit', sa.Integer(), nullable=True),
    sa.Column('bot_enabled', sa.Boolean(), nullable=False),
    sa.Column('agent_bot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('lock_to_single_conversation', sa.Boolean(), nullable=False),
    sa.Column('allow_messages_after_resolved', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_inboxes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['agent_bot_id'], ['agent_bots.id'], name=op.f('fk_inboxes_agent_bot_id_agent_bots'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inboxes')),
    sa.UniqueConstraint('public_id', name=op.f('uq_inboxes_public_id'))
    )
    with op.batch_alter_table('inboxes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inboxes_account_id'), ['account_id'], unique=False)

    op.create_table('knowledge_chunks',
    sa.Column('document_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('position', sa.Integer(), nullable=False),
    sa.Column('content', sa.Text(), nullable=False),
    sa.Column('language', sa.String(length=2), nullable=False),
    sa.Column('embedding', sa.LargeBinary(), nullable=True),
    sa.Column('catalog_item_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_knowledge_chunks_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['catalog_item_id'], ['catalog_items.id'], name=op.f('fk_knowledge_chunks_catalog_item_id_catalog_items'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['document_id'], ['knowledge_documents.id'], name=op.f('fk_knowledge_chunks_document_id_knowledge_documents'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_knowledge_chunks'))
    )
    with op.batch_alter_table('knowledge_chunks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_knowledge_chunks_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_knowledge_chunks_catalog_item_id'), ['catalog_item_id'], unique=False)
        batch_op.create_index('ix_knowledge_chunks_document_id_position', ['document_id', 'position'], unique=False)

    op.create_table('team_members',
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_team_members_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_team_members_team_id_teams'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_team_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_team_members')),
    sa.UniqueConstraint('team_id', 'user_id', name=op.f('uq_team_members_team_id_user_id'))
    )
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_team_members_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_team_members_user_id'), ['user_id'], unique=False)

    op.create_table('webhook_deliveries',
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('event_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('target_kind', sa.Enum('webhook', 'api_inbox', 'agent_bot', name='targetkind', native_enum=False, length=16), nullable=False),
    sa.Column('target_id', sa.BigInteger(), nullable=False),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('state', sa.Enum('pending', 'succeeded', 'failed', name='deliverystate', native_enum=False, length=16), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('response_status', sa.Integer(), nullable=True),
    sa.Column('response_body', sa.Text(), nullable=True),
    sa.Column('duration_ms', sa.Integer(), nullable=True),
    sa.Column('error', sa.Text(), nullable=True),
    sa.Column('last_attempt_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('delivered_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhook_deliveries_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['event_id'], ['webhook_events.id'], name=op.f('fk_webhook_deliveries_event_id_webhook_events'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhook_deliveries')),
    sa.UniqueConstraint('uuid', name=op.f('uq_webhook_deliveries_uuid'))
    )
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_webhook_deliveries_event_id'), ['event_id'], unique=False)
        batch_op.create_index('ix_webhook_deliveries_target', ['target_kind', 'target_id', 'id'], unique=False)

    op.create_table('bot_assignment_cursors',
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('last_user_id', sa.Integer(), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bot_assignment_cursors_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_bot_assignment_cursors_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_assignment_cursors')),
    sa.UniqueConstraint('inbox_id', name=op.f('uq_bot_assignment_cursors_inbox_id'))
    )
    with op.batch_alter_table('bot_assignment_cursors', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_assignment_cursors_account_id'), ['account_id'], unique=False)

    op.create_table('contact_inboxes',
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=False),
    sa.Column('pubsub_token', sa.String(length=64), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_contact_inboxes_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_contact_inboxes_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_contact_inboxes_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_contact_inboxes')),
    sa.UniqueConstraint('inbox_id', 'source_id', name=op.f('uq_contact_inboxes_inbox_id_source_id')),
    sa.UniqueConstraint('pubsub_token', name=op.f('uq_contact_inboxes_pubsub_token'))
    )
    with op.batch_alter_table('contact_inboxes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_contact_inboxes_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_contact_inboxes_contact_id'), ['contact_id'], unique=False)

    op.create_table('early_receipts',
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('source_id', sa.String(length=255), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'delivered', 'read', 'failed', name='messagestatus', native_enum=False, length=16), nullable=False),
    sa.Column('external_error', sa.Text(), nullable=True),
    sa.Column('occurred_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_early_receipts_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_early_receipts_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_early_receipts')),
    sa.UniqueConstraint('inbox_id', 'source_id', 'status', name=op.f('uq_early_receipts_inbox_id_source_id_status'))
    )
    with op.batch_alter_table('early_receipts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_early_receipts_account_id'), ['account_id'], unique=False)

    op.create_table('inbox_members',
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_inbox_members_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_inbox_members_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_inbox_members_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_inbox_members')),
    sa.UniqueConstraint('inbox_id', 'user_id', name=op.f('uq_inbox_members_inbox_id_user_id'))
    )
    with op.batch_alter_table('inbox_members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_inbox_members_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_inbox_members_user_id'), ['user_id'], unique=False)

    op.create_table('webhooks',
    sa.Column('name', sa.String(length=255), nullable=True),
    sa.Column('url', sa.String(length=2048), nullable=False),
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('subscriptions', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('encrypted_secret', sa.String(length=512), nullable=False),
    sa.Column('enabled', sa.Boolean(), nullable=False),
    sa.Column('disabled_reason', sa.Text(), nullable=True),
    sa.Column('consecutive_failures', sa.Integer(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_webhooks_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_webhooks_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_webhooks')),
    sa.UniqueConstraint('account_id', 'url', name=op.f('uq_webhooks_account_id_url'))
    )
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_webhooks_account_id'), ['account_id'], unique=False)

    op.create_table('conversations',
    sa.Column('display_id', sa.BigInteger(), nullable=False),
    sa.Column('uuid', sa.String(length=36), nullable=False),
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('contact_inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('status', sa.Enum('open', 'resolved', 'pending', 'snoozed', name='conversationstatus', native_enum=False, length=16), nullable=False),
    sa.Column('priority', sa.Enum('low', 'medium', 'high', 'urgent', name='priority', native_enum=False, length=16), nullable=True),
    sa.Column('assignee_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('assignee_agent_bot_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('team_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('custom_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('additional_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('waiting_since', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('first_reply_created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('last_activity_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('snoozed_until', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('agent_last_seen_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('assignee_last_seen_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('contact_last_seen_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('muted', sa.Boolean(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_conversations_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['assignee_agent_bot_id'], ['agent_bots.id'], name=op.f('fk_conversations_assignee_agent_bot_id_agent_bots'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['assignee_id'], ['users.id'], name=op.f('fk_conversations_assignee_id_users'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['contact_id'], ['contacts.id'], name=op.f('fk_conversations_contact_id_contacts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['contact_inbox_id'], ['contact_inboxes.id'], name=op.f('fk_conversations_contact_inbox_id_contact_inboxes'), ondelete='SET NULL'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_conversations_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['team_id'], ['teams.id'], name=op.f('fk_conversations_team_id_teams'), ondelete='SET NULL'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversations')),
    sa.UniqueConstraint('account_id', 'display_id', name=op.f('uq_conversations_account_id_display_id')),
    sa.UniqueConstraint('uuid', name=op.f('uq_conversations_uuid'))
    )
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.create_index('ix_conversations_account_assignee_status', ['account_id', 'assignee_id', 'status'], unique=False)
        batch_op.create_index('ix_conversations_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversations_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_conversations_account_status_activity', ['account_id', 'status', 'last_activity_at'], unique=False)
        batch_op.create_index('ix_conversations_contact', ['contact_id', 'id'], unique=False)
        batch_op.create_index('ix_conversations_contact_inbox', ['contact_inbox_id', 'id'], unique=False)
        batch_op.create_index('ix_conversations_inbox_status_activity', ['inbox_id', 'status', 'last_activity_at'], unique=False)

    op.create_table('bot_conversations',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('language', sa.String(length=8), nullable=True),
    sa.Column('pending_field', sa.String(length=64), nullable=True),
    sa.Column('invalid_answers', sa.Integer(), nullable=False),
    sa.Column('answers', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('unanswered_questions', sa.Integer(), nullable=False),
    sa.Column('follow_ups_sent', sa.Integer(), nullable=False),
    sa.Column('last_customer_message_id', sa.Integer(), nullable=True),
    sa.Column('handed_off_at', nexa.db.types.UTCDateTime(timezone=True), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bot_conversations_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_bot_conversations_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_conversations')),
    sa.UniqueConstraint('conversation_id', name=op.f('uq_bot_conversations_conversation_id'))
    )
    with op.batch_alter_table('bot_conversations', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_conversations_account_id'), ['account_id'], unique=False)

    op.create_table('bot_llm_usage',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=True),
    sa.Column('day', sa.Date(), nullable=False),
    sa.Column('calls', sa.Integer(), nullable=False),
    sa.Column('prompt_tokens', sa.BigInteger(), nullable=False),
    sa.Column('completion_tokens', sa.BigInteger(), nullable=False),
    sa.Column('total_tokens', sa.BigInteger(), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_bot_llm_usage_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_bot_llm_usage_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_bot_llm_usage')),
    sa.UniqueConstraint('account_id', 'day', 'conversation_id', name=op.f('uq_bot_llm_usage_account_id_day_conversation_id'))
    )
    with op.batch_alter_table('bot_llm_usage', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_bot_llm_usage_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_bot_llm_usage_conversation', ['conversation_id'], unique=False)

    op.create_table('conversation_labels',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('title', sa.String(length=255), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_conversation_labels_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_labels_conversation_id_conversations'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_labels')),
    sa.UniqueConstraint('conversation_id', 'title', name=op.f('uq_conversation_labels_conversation_id_title'))
    )
    with op.batch_alter_table('conversation_labels', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_labels_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_conversation_labels_account_title', ['account_id', 'title', 'conversation_id'], unique=False)

    op.create_table('conversation_participants',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('user_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_conversation_participants_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_conversation_participants_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['user_id'], ['users.id'], name=op.f('fk_conversation_participants_user_id_users'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_conversation_participants')),
    sa.UniqueConstraint('conversation_id', 'user_id', name=op.f('uq_conversation_participants_conversation_id_user_id'))
    )
    with op.batch_alter_table('conversation_participants', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_conversation_participants_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_conversation_participants_user_id'), ['user_id'], unique=False)

    op.create_table('messages',
    sa.Column('conversation_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('inbox_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('message_type', sa.Enum('incoming', 'outgoing', 'activity', 'template', name='messagetype', native_enum=False, length=16), nullable=False),
    sa.Column('content', sa.Text(), nullable=True),
    sa.Column('content_type', sa.Enum('text', 'input_text', 'input_textarea', 'input_email', 'input_select', 'cards', 'form', 'article', 'incoming_email', 'input_csat', 'integrations', 'sticker', 'voice_call', name='contenttype', native_enum=False, length=32), nullable=False),
    sa.Column('content_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('additional_attributes', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('private', sa.Boolean(), nullable=False),
    sa.Column('status', sa.Enum('pending', 'sent', 'delivered', 'read', 'failed', name='messagestatus', native_enum=False, length=16), nullable=False),
    sa.Column('external_error', sa.Text(), nullable=True),
    sa.Column('source_id', sa.String(length=255), nullable=True),
    sa.Column('sender_type', sa.Enum('contact', 'user', 'agent_bot', 'bot', name='sendertype', native_enum=False, length=16), nullable=True),
    sa.Column('sender_id', sa.BigInteger(), nullable=True),
    sa.Column('echo_id', sa.String(length=255), nullable=True),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_messages_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['conversation_id'], ['conversations.id'], name=op.f('fk_messages_conversation_id_conversations'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['inbox_id'], ['inboxes.id'], name=op.f('fk_messages_inbox_id_inboxes'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_messages')),
    sa.UniqueConstraint('inbox_id', 'source_id', name=op.f('uq_messages_inbox_id_source_id'))
    )
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.create_index('ix_messages_account_created', ['account_id', 'created_at'], unique=False)
        batch_op.create_index(batch_op.f('ix_messages_account_id'), ['account_id'], unique=False)
        batch_op.create_index('ix_messages_conversation_id', ['conversation_id', 'id'], unique=False)

    op.create_table('attachments',
    sa.Column('message_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.Column('file_type', sa.Enum('image', 'audio', 'video', 'file', 'location', 'fallback', 'contact', 'sticker', name='filetype', native_enum=False, length=16), nullable=False),
    sa.Column('external_url', sa.String(length=2048), nullable=True),
    sa.Column('file_key', sa.String(length=1024), nullable=True),
    sa.Column('content_type', sa.String(length=255), nullable=True),
    sa.Column('file_size', sa.BigInteger(), nullable=True),
    sa.Column('meta', sa.JSON().with_variant(postgresql.JSONB(astext_type=sa.Text()), 'postgresql'), nullable=False),
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('created_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('updated_at', nexa.db.types.UTCDateTime(timezone=True), nullable=False),
    sa.Column('account_id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), nullable=False),
    sa.ForeignKeyConstraint(['account_id'], ['accounts.id'], name=op.f('fk_attachments_account_id_accounts'), ondelete='CASCADE'),
    sa.ForeignKeyConstraint(['message_id'], ['messages.id'], name=op.f('fk_attachments_message_id_messages'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_attachments'))
    )
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_attachments_account_id'), ['account_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_attachments_message_id'), ['message_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('attachments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_attachments_message_id'))
        batch_op.drop_index(batch_op.f('ix_attachments_account_id'))

    op.drop_table('attachments')
    with op.batch_alter_table('messages', schema=None) as batch_op:
        batch_op.drop_index('ix_messages_conversation_id')
        batch_op.drop_index(batch_op.f('ix_messages_account_id'))
        batch_op.drop_index('ix_messages_account_created')

    op.drop_table('messages')
    with op.batch_alter_table('conversation_participants', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_conversation_participants_user_id'))
        batch_op.drop_index(batch_op.f('ix_conversation_participants_account_id'))

    op.drop_table('conversation_participants')
    with op.batch_alter_table('conversation_labels', schema=None) as batch_op:
        batch_op.drop_index('ix_conversation_labels_account_title')
        batch_op.drop_index(batch_op.f('ix_conversation_labels_account_id'))

    op.drop_table('conversation_labels')
    with op.batch_alter_table('bot_llm_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_llm_usage_conversation')
        batch_op.drop_index(batch_op.f('ix_bot_llm_usage_account_id'))

    op.drop_table('bot_llm_usage')
    with op.batch_alter_table('bot_conversations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_conversations_account_id'))

    op.drop_table('bot_conversations')
    with op.batch_alter_table('conversations', schema=None) as batch_op:
        batch_op.drop_index('ix_conversations_inbox_status_activity')
        batch_op.drop_index('ix_conversations_contact_inbox')
        batch_op.drop_index('ix_conversations_contact')
        batch_op.drop_index('ix_conversations_account_status_activity')
        batch_op.drop_index(batch_op.f('ix_conversations_account_id'))
        batch_op.drop_index('ix_conversations_account_created')
        batch_op.drop_index('ix_conversations_account_assignee_status')

    op.drop_table('conversations')
    with op.batch_alter_table('webhooks', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhooks_account_id'))

    op.drop_table('webhooks')
    with op.batch_alter_table('inbox_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inbox_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_inbox_members_account_id'))

    op.drop_table('inbox_members')
    with op.batch_alter_table('early_receipts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_early_receipts_account_id'))

    op.drop_table('early_receipts')
    with op.batch_alter_table('contact_inboxes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_contact_inboxes_contact_id'))
        batch_op.drop_index(batch_op.f('ix_contact_inboxes_account_id'))

    op.drop_table('contact_inboxes')
    with op.batch_alter_table('bot_assignment_cursors', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_assignment_cursors_account_id'))

    op.drop_table('bot_assignment_cursors')
    with op.batch_alter_table('webhook_deliveries', schema=None) as batch_op:
        batch_op.drop_index('ix_webhook_deliveries_target')
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_event_id'))
        batch_op.drop_index(batch_op.f('ix_webhook_deliveries_account_id'))

    op.drop_table('webhook_deliveries')
    with op.batch_alter_table('team_members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_team_members_user_id'))
        batch_op.drop_index(batch_op.f('ix_team_members_account_id'))

    op.drop_table('team_members')
    with op.batch_alter_table('knowledge_chunks', schema=None) as batch_op:
        batch_op.drop_index('ix_knowledge_chunks_document_id_position')
        batch_op.drop_index(batch_op.f('ix_knowledge_chunks_catalog_item_id'))
        batch_op.drop_index(batch_op.f('ix_knowledge_chunks_account_id'))

    op.drop_table('knowledge_chunks')
    with op.batch_alter_table('inboxes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_inboxes_account_id'))

    op.drop_table('inboxes')
    with op.batch_alter_table('contact_notes', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_notes_contact')
        batch_op.drop_index(batch_op.f('ix_contact_notes_account_id'))

    op.drop_table('contact_notes')
    with op.batch_alter_table('contact_labels', schema=None) as batch_op:
        batch_op.drop_index('ix_contact_labels_account_title')
        batch_op.drop_index(batch_op.f('ix_contact_labels_account_id'))

    op.drop_table('contact_labels')
    with op.batch_alter_table('webhook_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_webhook_events_account_id'))

    op.drop_table('webhook_events')
    with op.batch_alter_table('teams', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_teams_account_id'))

    op.drop_table('teams')
    with op.batch_alter_table('reporting_events', schema=None) as batch_op:
        batch_op.drop_index('ix_reporting_events_conversation')
        batch_op.drop_index('ix_reporting_events_account_name_created')
        batch_op.drop_index(batch_op.f('ix_reporting_events_account_id'))

    op.drop_table('reporting_events')
    with op.batch_alter_table('labels', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_labels_account_id'))

    op.drop_table('labels')
    with op.batch_alter_table('knowledge_documents', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_knowledge_documents_account_id'))

    op.drop_table('knowledge_documents')
    with op.batch_alter_table('invitations', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_invitations_user_id'))
        batch_op.drop_index(batch_op.f('ix_invitations_account_id'))

    op.drop_table('invitations')
    with op.batch_alter_table('contacts', schema=None) as batch_op:
        batch_op.drop_index('ix_contacts_account_last_activity')
        batch_op.drop_index(batch_op.f('ix_contacts_account_id'))

    op.drop_table('contacts')
    with op.batch_alter_table('catalog_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_catalog_items_account_id'))

    op.drop_table('catalog_items')
    with op.batch_alter_table('canned_responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_canned_responses_account_id'))

    op.drop_table('canned_responses')
    with op.batch_alter_table('bot_settings', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_settings_account_id'))

    op.drop_table('bot_settings')
    with op.batch_alter_table('bot_rules', schema=None) as batch_op:
        batch_op.drop_index('ix_bot_rules_account_priority')
        batch_op.drop_index(batch_op.f('ix_bot_rules_account_id'))

    op.drop_table('bot_rules')
    with op.batch_alter_table('bot_llm_configs', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_bot_llm_configs_account_id'))

    op.drop_table('bot_llm_configs')
    with op.batch_alter_table('automation_rules', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_automation_rules_account_id'))
        batch_op.drop_index('ix_automation_rules_account_event')

    op.drop_table('automation_rules')
    with op.batch_alter_table('auth_sessions', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_auth_sessions_user_id'))
        batch_op.drop_index(batch_op.f('ix_auth_sessions_family_id'))

    op.drop_table('auth_sessions')
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_index('ix_audit_events_account_created')

    op.drop_table('audit_events')
    with op.batch_alter_table('agent_bots', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_agent_bots_account_id'))

    op.drop_table('agent_bots')
    with op.batch_alter_table('account_users', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_account_users_user_id'))
        batch_op.drop_index(batch_op.f('ix_account_users_account_id'))

    op.drop_table('account_users')
    with op.batch_alter_table('access_tokens', schema=None) as batch_op:
        batch_op.drop_index('ix_access_tokens_owner')
        batch_op.drop_index(batch_op.f('ix_access_tokens_account_id'))

    op.drop_table('access_tokens')
    op.drop_table('users')
    op.drop_index('ix_jobs_finished', table_name='jobs')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('uq_jobs_dedupe_key_live', sqlite_where=sa.text("state IN ('available', 'scheduled', 'executing', 'retryable')"), postgresql_where=sa.text("state IN ('available', 'scheduled', 'executing', 'retryable')"))
        batch_op.drop_index('uq_jobs_concurrency_key_executing', sqlite_where=sa.text("state = 'executing'"), postgresql_where=sa.text("state = 'executing'"))
        batch_op.drop_index('ix_jobs_stage', sqlite_where=sa.text("state IN ('scheduled', 'retryable')"), postgresql_where=sa.text("state IN ('scheduled', 'retryable')"))
        batch_op.drop_index('ix_jobs_heartbeat', sqlite_where=sa.text("state = 'executing'"), postgresql_where=sa.text("state = 'executing'"))
        batch_op.drop_index('ix_jobs_fetch', sqlite_where=sa.text("state = 'available'"), postgresql_where=sa.text("state = 'available'"))
        batch_op.drop_index('ix_jobs_dedupe_key', sqlite_where=sa.text('dedupe_key IS NOT NULL'), postgresql_where=sa.text('dedupe_key IS NOT NULL'))

    op.drop_table('jobs')
    op.drop_table('accounts')
