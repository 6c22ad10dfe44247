"""workspace: each segment a filter offers (team, department, channel, touchpoint, country, language) indexed
with the answer's time and score, so a view filtered on a segment and a period reads its answers' bands from
one index range instead of testing the period on every answer of the segment; the theme rows' team index
carries the answer id (then the kind), so a team's theme rows up to an answer are counted from the index alone
and an answer's row for a team is found in it

Revision ID: 0006_workspace_filters
Revises: 0005_workspace_rank
Create Date: 2026-12-07 09:30:00
"""

from __future__ import annotations

from alembic import op

revision = '0006_workspace_filters'
down_revision = '0005_workspace_rank'
branch_labels = None
depends_on = None

# the single-column indexes these replace (a segment alone is served by the new index's first column)
SEGMENTS = ('team', 'department', 'channel', 'touchpoint', 'country')


def upgrade() -> None:
    for column in SEGMENTS:
        op.drop_index(f'ix_responses_{column}', table_name='responses')
    for column in (*SEGMENTS, 'lang'):
        op.create_index(f'ix_responses_{column}_timestamp', 'responses', [column, 'timestamp', 'score'], unique=False)
    op.drop_index('ix_response_themes_team_kind', table_name='response_themes')
    op.create_index('ix_response_themes_team_answer', 'response_themes', ['team', 'response_id', 'kind'], unique=False)


def downgrade() -> None:
    op.drop_index('ix_response_themes_team_answer', table_name='response_themes')
    op.create_index('ix_response_themes_team_kind', 'response_themes', ['team', 'kind'], unique=False)
    for column in (*SEGMENTS, 'lang'):
        op.drop_index(f'ix_responses_{column}_timestamp', table_name='responses')
    for column in SEGMENTS:
        op.create_index(f'ix_responses_{column}', 'responses', [column], unique=False)
