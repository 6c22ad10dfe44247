"""workspace: an index on the theme rows in the order quotes are ranked (theme, sentiment, confidence highest
first, answer), so the quotes of a theme are read from its first rows instead of sorting all of them

Revision ID: 0005_workspace_rank
Revises: 0004
Create Date: 2026-12-07 06:20:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = '0005_workspace_rank'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index('ix_response_themes_rank', 'response_themes',
                    ['theme', 'sentiment', sa.text('confidence DESC'), 'response_id'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_response_themes_rank', table_name='response_themes')
