"""The commentsvc command line: the Flask commands plus the service's own."""

from __future__ import annotations

import click
from flask import Flask
from flask.cli import FlaskGroup
from sqlalchemy import select

from .extensions import db


def register(app: Flask) -> None:
    app.cli.add_command(rerender)


@click.command("rerender")
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
