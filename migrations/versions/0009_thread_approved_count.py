"""thread approved count: each thread keeps how many of its comments are approved

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0009'
down_revision = '0008'
branch_labels = None
depends_on = None


# Not batch mode, on SQLite either: it would copy the table and drop the old one, and dropping
# threads deletes every comment (their foreign key cascades, and the app turns foreign keys on).
# SQLite adds a column in place, and drops one in place since 3.35.


def upgrade():
    op.add_column('threads', sa.Column('approved_count', sa.Integer(), server_default='0',
                                       nullable=False))
    # Counted from the comments as they are; from here on every write keeps it.
    op.execute(
        "UPDATE threads SET approved_count = (SELECT count(*) FROM comments "
        "WHERE comments.thread_id = threads.id AND comments.status = 'approved')"
    )


def downgrade():
    op.drop_column('threads', 'approved_count')
