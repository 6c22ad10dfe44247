"""initial schema

Revision ID: 0001
Revises:
Create Date: 2026-11-23 22:07:51.636787
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import api.db.models

revision = '0001'
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table('action_items',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=100), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('title', sa.String(length=300), nullable=True),
    sa.Column('owner', sa.String(length=200), nullable=False),
    sa.Column('due_at', api.db.models.UTCDateTime(), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('progress', sa.Integer(), nullable=False),
    sa.Column('notes', sa.JSON(), nullable=False),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', api.db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_action_items_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_team'), ['team'], unique=False)
        batch_op.create_index(batch_op.f('ix_action_items_theme'), ['theme'], unique=False)

    op.create_table('api_keys',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('name', sa.String(length=100), nullable=False),
    sa.Column('prefix', sa.String(length=16), nullable=False),
    sa.Column('key_hash', sa.String(length=64), nullable=False),
    sa.Column('scopes', sa.String(length=100), nullable=False),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('revoked_at', api.db.models.UTCDateTime(), nullable=True),
    sa.Column('last_used_at', api.db.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('key_hash')
    )
    op.create_table('outbox',
    sa.Column('id', sa.String(length=36), nullable=False),
    sa.Column('event_type', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.JSON(), nullable=False),
    sa.Column('target_url', sa.String(length=1000), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('next_attempt_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('locked_until', api.db.models.UTCDateTime(), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('delivered_at', api.db.models.UTCDateTime(), nullable=True),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)

    op.create_table('responses',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('external_id', sa.String(length=200), nullable=False),
    sa.Column('score', sa.Integer(), nullable=False),
    sa.Column('band', sa.String(length=10), nullable=False),
    sa.Column('text', sa.Text(), nullable=False),
    sa.Column('lang', sa.String(length=8), nullable=False),
    sa.Column('timestamp', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('customer_id', sa.String(length=200), nullable=True),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('department', sa.String(length=100), nullable=True),
    sa.Column('channel', sa.String(length=100), nullable=True),
    sa.Column('touchpoint', sa.String(length=100), nullable=True),
    sa.Column('country', sa.String(length=100), nullable=True),
    sa.Column('sentiment', sa.String(length=10), nullable=False),
    sa.Column('sentiment_score', sa.Float(), nullable=False),
    sa.Column('urgency_level', sa.String(length=10), nullable=False),
    sa.Column('urgent', sa.Boolean(), nullable=False),
    sa.Column('analysis', sa.JSON(), nullable=False),
    sa.Column('model_id', sa.String(length=200), nullable=True),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('external_id')
    )
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_responses_channel'), ['channel'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_country'), ['country'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_customer_id'), ['customer_id'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_department'), ['department'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_team'), ['team'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_timestamp'), ['timestamp'], unique=False)
        batch_op.create_index(batch_op.f('ix_responses_touchpoint'), ['touchpoint'], unique=False)

    op.create_table('alerts',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('level', sa.String(length=10), nullable=False),
    sa.Column('reasons', sa.JSON(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=True),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('owner', sa.String(length=200), nullable=True),
    sa.Column('due_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('created_at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('updated_at', api.db.models.UTCDateTime(), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id'),
    sa.UniqueConstraint('response_id')
    )
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alerts_level'), ['level'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_status'), ['status'], unique=False)
        batch_op.create_index(batch_op.f('ix_alerts_team'), ['team'], unique=False)

    op.create_table('response_themes',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('response_id', sa.Integer(), nullable=False),
    sa.Column('theme', sa.String(length=100), nullable=False),
    sa.Column('sentiment', sa.String(length=10), nullable=False),
    sa.Column('confidence', sa.Float(), nullable=False),
    sa.Column('team', sa.String(length=100), nullable=False),
    sa.Column('kind', sa.String(length=10), nullable=False),
    sa.ForeignKeyConstraint(['response_id'], ['responses.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('response_themes', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_response_themes_response_id'), ['response_id'], unique=False)
        batch_op.create_index('ix_response_themes_team_kind', ['team', 'kind'], unique=False)
        batch_op.create_index(batch_op.f('ix_response_themes_theme'), ['theme'], unique=False)

    op.create_table('alert_events',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('alert_id', sa.Integer(), nullable=False),
    sa.Column('at', api.db.models.UTCDateTime(), nullable=False),
    sa.Column('actor', sa.String(length=200), nullable=True),
    sa.Column('kind', sa.String(length=20), nullable=False),
    sa.Column('old', sa.String(length=200), nullable=True),
    sa.Column('new', sa.String(length=200), nullable=True),
    sa.Column('note', sa.Text(), nullable=True),
    sa.ForeignKeyConstraint(['alert_id'], ['alerts.id'], ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id')
    )
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_alert_events_alert_id'), ['alert_id'], unique=False)



def downgrade() -> None:
    with op.batch_alter_table('alert_events', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alert_events_alert_id'))

    op.drop_table('alert_events')
    with op.batch_alter_table('response_themes', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_response_themes_theme'))
        batch_op.drop_index('ix_response_themes_team_kind')
        batch_op.drop_index(batch_op.f('ix_response_themes_response_id'))

    op.drop_table('response_themes')
    with op.batch_alter_table('alerts', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_alerts_team'))
        batch_op.drop_index(batch_op.f('ix_alerts_status'))
        batch_op.drop_index(batch_op.f('ix_alerts_level'))

    op.drop_table('alerts')
    with op.batch_alter_table('responses', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_responses_touchpoint'))
        batch_op.drop_index(batch_op.f('ix_responses_timestamp'))
        batch_op.drop_index(batch_op.f('ix_responses_team'))
        batch_op.drop_index(batch_op.f('ix_responses_department'))
        batch_op.drop_index(batch_op.f('ix_responses_customer_id'))
        batch_op.drop_index(batch_op.f('ix_responses_country'))
        batch_op.drop_index(batch_op.f('ix_responses_channel'))

    op.drop_table('responses')
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    op.drop_table('api_keys')
    with op.batch_alter_table('action_items', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_action_items_theme'))
        batch_op.drop_index(batch_op.f('ix_action_items_team'))
        batch_op.drop_index(batch_op.f('ix_action_items_status'))

    op.drop_table('action_items')
