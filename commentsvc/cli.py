"""The commentsvc command line: the Flask commands plus the service's own."""

from __future__ import annotations

import sys

import click
from flask import Flask
from flask.cli import FlaskGroup, with_appcontext
from sqlalchemy import func, select
from werkzeug.security import generate_password_hash

from .extensions import db
from .models import Moderator, Role
from .validation import EMAIL


def register(app: Flask) -> None:
    app.cli.add_command(rerender)
    app.cli.add_command(create_moderator)


@click.command("create-moderator")
@with_appcontext
@click.argument("name")
@click.option("--email", required=True, help="where moderation alerts go")
@click.option("--role", type=click.Choice([r.value for r in Role]), default=Role.admin.value,
              show_default=True)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
def create_moderator(name: str, email: str, role: str, password_stdin: bool) -> None:
    """Create a moderator account (the first one is usually an admin)."""
    email = email.strip().lower()
    if not EMAIL.match(email):
        raise click.BadParameter("not a valid e-mail address", param_hint="--email")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    if len(password) < 10:
        raise click.UsageError("The password must have at least 10 characters.")
    taken = db.session.execute(select(Moderator.id).where(
        (func.lower(Moderator.name) == name.lower()) | (Moderator.email == email))).first()
    if taken:
        raise click.UsageError(f"A moderator named {name} or with e-mail {email} exists.")
    db.session.add(Moderator(name=name, email=email, role=Role(role),
                             password_hash=generate_password_hash(password)))
    db.session.commit()
    click.echo(f"Moderator {name} ({role}) created; log in at /admin/")


@click.command("rerender")
@with_appcontext
def rerender() -> None:
    """Render every comment's stored Markdown again (after a renderer change)."""
    from .models import Comment
    from .render import render_comment

    changed = 0
    for comment in db.session.execute(select(Comment)).scalars():
        html = render_comment(comment.text)
        if html != comment.html:
            comment.html = html
            changed += 1
    db.session.commit()
    click.echo(f"{changed} comment(s) re-rendered")


def _create_app():
    from . import create_app

    return create_app()


@click.group(cls=FlaskGroup, create_app=_create_app, add_version_option=False)
def main() -> None:
    """commentsvc: self-hosted threaded comments for blogs."""
