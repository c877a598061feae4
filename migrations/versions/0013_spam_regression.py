"""spam regression: each feature's fitted weight, and when the model was last fitted

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-30

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None


# The weight is added in place (SQLite adds a column without copying the table). Every weight
# starts empty: the filter scores by its lesson counts alone until the first fit, which the
# next lesson (or `commentsvc spam-filter refit`) starts.


def upgrade():
    op.add_column('spam_features', sa.Column('weight', sa.Float(), nullable=True))
    op.create_table(
        'spam_model',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('changes', sa.Integer(), nullable=False),
        sa.Column('fitted_changes', sa.Integer(), nullable=True),
        sa.Column('fitted', sa.DateTime(timezone=True), nullable=True),
        sa.Column('fit_seconds', sa.Float(), nullable=True),
        sa.Column('held_back', sa.Text(), nullable=True),
        sa.Column('refitting_until', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_spam_model')),
    )
    # Lessons already stored are one change the regression has not seen.
    op.execute(
        "INSERT INTO spam_model (id, changes) "
        "SELECT 1, 1 WHERE EXISTS (SELECT 1 FROM spam_lessons)"
    )


def downgrade():
    op.drop_table('spam_model')
    op.drop_column('spam_features', 'weight')
