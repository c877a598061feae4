"""imports: the source format of a comment's text, and where an imported comment came from

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0006'
down_revision = '0005'
branch_labels = None
depends_on = None


def upgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.add_column(sa.Column('text_format', sa.String(length=8), nullable=False,
                                      server_default='markdown'))
        batch_op.add_column(sa.Column('origin', sa.String(length=255), nullable=True))
        batch_op.create_index(batch_op.f('ix_comments_origin'), ['origin'], unique=False)


def downgrade():
    with op.batch_alter_table('comments', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_comments_origin'))
        batch_op.drop_column('origin')
        batch_op.drop_column('text_format')
