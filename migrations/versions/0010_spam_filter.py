"""spam filter: the model (features and lessons) and each comment's score

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-29

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None


# Columns are added in place (not batch mode): on SQLite a batch copy of comments would drop
# the table its replies, votes and subscriptions point at.


def upgrade():
    op.add_column('comments', sa.Column('spam_score', sa.Float(), nullable=True))
    op.add_column('comments', sa.Column('filter_action', sa.String(length=8), nullable=True))
    op.create_table(
        'spam_features',
        sa.Column('feature', sa.String(length=80), nullable=False),
        sa.Column('spam', sa.Integer(), nullable=False),
        sa.Column('ham', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('feature', name=op.f('pk_spam_features')),
    )
    op.create_table(
        'spam_lessons',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('comment_id', sa.Integer(), nullable=True),
        sa.Column('label', sa.String(length=4), nullable=False),
        sa.Column('source', sa.String(length=16), nullable=False),
        sa.Column('features', sa.Text(), nullable=False),
        sa.Column('created', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(['comment_id'], ['comments.id'],
                                name=op.f('fk_spam_lessons_comment_id_comments'),
                                ondelete='CASCADE'),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spam_lessons')),
        sa.UniqueConstraint('comment_id', name=op.f('uq_spam_lessons_comment_id')),
    )
    op.create_index('ix_spam_lessons_created', 'spam_lessons', ['created'])


def downgrade():
    op.drop_index('ix_spam_lessons_created', table_name='spam_lessons')
    op.drop_table('spam_lessons')
    op.drop_table('spam_features')
    op.drop_column('comments', 'filter_action')
    op.drop_column('comments', 'spam_score')
