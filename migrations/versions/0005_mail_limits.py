"""mail limits: alert and opt-in windows, the comment each mail is about, opt-ins waiting

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-01

"""
from alembic import op
import sqlalchemy as sa

# revision identifiers, used by Alembic.
revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade():
    op.create_table(
        'mail_limits',
        sa.Column('key', sa.String(length=80), nullable=False),
        sa.Column('window_start', sa.DateTime(timezone=True), nullable=False),
        sa.Column('sent', sa.Integer(), nullable=False),
        sa.Column('held', sa.Integer(), nullable=False),
        sa.Column('digested', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('key', name=op.f('pk_mail_limits')),
    )

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.add_column(sa.Column('comment_id', sa.Integer(), nullable=True))
        batch_op.create_index(batch_op.f('ix_outbox_comment_id'), ['comment_id'], unique=False)
        batch_op.create_foreign_key(batch_op.f('fk_outbox_comment_id_comments'), 'comments',
                                    ['comment_id'], ['id'], ondelete='CASCADE')

    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.add_column(sa.Column('confirm_mailed', sa.DateTime(timezone=True),
                                      nullable=True))
    # Every subscription made before this revision had its opt-in mailed when it was made.
    op.execute("UPDATE subscriptions SET confirm_mailed = created")


def downgrade():
    with op.batch_alter_table('subscriptions', schema=None) as batch_op:
        batch_op.drop_column('confirm_mailed')

    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f('fk_outbox_comment_id_comments'), type_='foreignkey')
        batch_op.drop_index(batch_op.f('ix_outbox_comment_id'))
        batch_op.drop_column('comment_id')

    op.drop_table('mail_limits')
