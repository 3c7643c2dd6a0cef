"""tool keys at setup: one Next key at a time, and the Current and Next keys created with the database

Revision ID: trustinput_0001
Revises: 212dbbcf3f32
Create Date: 2026-12-03 18:30:00

"""
from alembic import op
import sqlalchemy as sa

from app.lti import keys


revision = 'trustinput_0001'
down_revision = '212dbbcf3f32'
branch_labels = None
depends_on = None


def upgrade():
    # Creating keys on first use could leave two Next keys after a race: the newest stays, the others retire.
    op.execute("UPDATE tool_key SET state = 'retired' WHERE state = 'next' "
               "AND id < (SELECT MAX(id) FROM tool_key WHERE state = 'next')")
    with op.batch_alter_table('tool_key', schema=None) as batch_op:
        batch_op.create_index('uq_tool_key_next', ['state'], unique=True, sqlite_where=sa.text("state = 'next'"),
                              postgresql_where=sa.text("state = 'next'"))
    # Keys exist before the first request or job needs one: nothing creates them while serving.
    keys.ensure_keys(op.get_bind())


def downgrade():
    with op.batch_alter_table('tool_key', schema=None) as batch_op:
        batch_op.drop_index('uq_tool_key_next', sqlite_where=sa.text("state = 'next'"),
                            postgresql_where=sa.text("state = 'next'"))
