"""The commentsvc command line: the Flask commands plus the service's own."""

from __future__ import annotations

import csv
import json
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

import click
from flask import Flask, current_app
from flask.cli import (
    FlaskGroup,
    ScriptInfo,
    pass_script_info,
    routes_command,
    shell_command,
    with_appcontext,
)
from sqlalchemy.exc import SQLAlchemyError

from .config import current_settings
from .extensions import db
from .import_formats import IMPORT_FORMATS
from .models import Role
from .validation import EMAIL

IMPORT_IN_PROCESS_BYTES = 2 * 1024 * 1024  # smaller files are sanitised without workers


@click.command(
    "db",
    context_settings={"ignore_unknown_options": True, "allow_extra_args": True},
    add_help_option=False,
)
@click.pass_context
def migrations(ctx: click.Context) -> None:
    """Create or upgrade the database's tables: `commentsvc db upgrade`."""
    # Flask-Migrate's `db` commands, given the rest of the arguments. Loaded (with Alembic)
    # only when they run, so that no other command pays for them at start-up.
    from .extensions import init_migrations

    app = ctx.ensure_object(ScriptInfo).load_app()
    init_migrations(app)  # puts Flask-Migrate's own `db` group in this command's place
    commands = app.cli.commands["db"]
    if commands is migrations:  # never: it would call itself
        raise click.ClickException("Flask-Migrate did not register its `db` commands")
    code = commands.main(ctx.args, ctx.command_path, obj=ctx.obj, standalone_mode=False)
    ctx.exit(code if isinstance(code, int) else 0)


def register(app: Flask) -> None:
    app.cli.add_command(migrations)
    app.cli.add_command(import_comments)
    app.cli.add_command(rerender)
    app.cli.add_command(create_moderator)
    app.cli.add_command(export)
    app.cli.add_command(erase)
    app.cli.add_command(purge_addresses)
    app.cli.add_command(prune_outbox)
    app.cli.add_command(spam_filter)
    app.cli.add_command(site)


@click.command("export")
@with_appcontext
@click.argument("file", required=False, type=click.Path(dir_okay=False, allow_dash=True))
@click.option("--site", default="default", show_default=True, help="the site to export")
@click.option(
    "--email", default=None, help="instead: everything stored about one commenter (privacy export)"
)
@click.option(
    "--output",
    type=click.File("w"),
    default=None,
    help="with --email: file to write the JSON to (default: standard output)",
)
@click.option("--quiet", is_flag=True, help="no progress bar")
def export(
    file: str | None, site: str, email: str | None, output: IO[str] | None, quiet: bool
) -> None:
    """Write every thread and comment of a site to FILE (our JSON export format), or with
    --email, everything stored about one commenter."""
    if email is not None:
        with output or click.open_file("-", "w") as out:
            _export_personal(email, out)
        return
    if file is None:
        raise click.UsageError("name the FILE to write the export to (or give --email)")
    from .importers.native import export_site, export_source

    source = export_source(current_settings().secret_key)
    try:
        with (
            click.open_file(file, "w", encoding="utf-8", atomic=file != "-") as out,
            _progress_bar(quiet, "comments") as progress,
        ):
            threads, comments = export_site(db.session(), site, out, source, progress)
    except OSError as exc:
        _cannot_write(file, exc)
    click.echo(f"{threads} thread(s) and {comments} comment(s) of site {site} exported", err=True)


def _export_personal(email: str, output: IO[str]) -> None:
    from .privacy import export_personal_data

    data = export_personal_data(db.session(), email)
    json.dump(data, output, indent=2, ensure_ascii=False)
    output.write("\n")
    click.echo(f"{len(data['comments'])} comment(s) exported", err=True)


@contextmanager
def _progress_bar(quiet: bool, unit: str) -> Iterator[Callable[[int, int], None] | None]:
    """A progress callback drawing a bar on standard error when it is a terminal."""
    if quiet or not sys.stderr.isatty():
        yield None
        return
    from tqdm import tqdm

    with tqdm(file=sys.stderr, unit=unit, unit_scale=True, leave=False) as bar:

        def update(done: int, total: int) -> None:
            if bar.total != total:
                bar.total = total
            bar.update(done - bar.n)

        yield update


@click.command("import")
@with_appcontext
@click.argument("fmt", metavar="FORMAT", type=click.Choice(list(IMPORT_FORMATS)))
@click.argument("file", type=click.Path(exists=True, dir_okay=False))
@click.option("--site", default="default", show_default=True, help="the site to import into")
@click.option("--dry-run", is_flag=True, help="read and check everything, save nothing")
@click.option(
    "--uri-map",
    type=click.Path(exists=True, dir_okay=False),
    help="CSV file of two columns: old post URL, new thread uri",
)
@click.option(
    "--status",
    type=click.Choice(["approved", "pending"]),
    default=None,
    help="status of the comments the old blog showed (default: approved)",
)
@click.option("--quiet", is_flag=True, help="no progress bar, only the report")
def import_comments(
    fmt: str,
    file: str,
    site: str,
    dry_run: bool,
    uri_map: str | None,
    status: str | None,
    quiet: bool,
) -> None:
    """Import the comments of a Blogger, Disqus, WordPress or Isso export, or of our own."""
    from .errors import BadImportFile
    from .importers import import_file

    try:
        mapping = _read_uri_map(uri_map) if uri_map else None
        with _progress_bar(quiet, "B") as progress:
            report = import_file(
                db.session(),
                current_settings(),
                fmt,
                file,
                site=site,
                uri_map=mapping,
                status=status,
                progress=progress,
                dry_run=dry_run,
                workers=_workers(file),
            )
    except BadImportFile as exc:
        db.session.rollback()
        click.echo(f"Error: {click.format_filename(file)}: {exc}", err=True)
        sys.exit(2)
    except SQLAlchemyError as exc:  # e.g. a reader posting the thread's first comment meanwhile
        db.session.rollback()
        click.echo(
            f"Error: the database refused the import ({type(exc).__name__}); nothing "
            "was saved: run it again",
            err=True,
        )
        sys.exit(1)
    if dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    click.echo("\n".join(report.lines()))


def _workers(path: str) -> int:
    """Processes to sanitise a large file's comments with: one per core, at most 4."""
    from .serve import available_cores

    return min(available_cores(), 4) if os.path.getsize(path) > IMPORT_IN_PROCESS_BYTES else 0


def _read_uri_map(path: str) -> dict[str, str]:
    from .errors import BadImportFile
    from .importers import read_uri_map

    try:
        with open(path, newline="", encoding="utf-8-sig") as fh:
            return read_uri_map(csv.reader(fh))
    except (ValueError, csv.Error) as exc:  # UnicodeDecodeError is a ValueError
        raise BadImportFile(f"--uri-map {click.format_filename(path)}: {exc}") from None


@click.command("erase")
@with_appcontext
@click.option("--email", required=True, help="the commenter's e-mail address")
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def erase(email: str, yes: bool) -> None:
    """Erase a commenter's personal data and words; threads keep their shape."""
    from .audit import record
    from .privacy import erase_personal_data

    if not yes:
        click.confirm(f"Erase every comment, subscription and mail of {email}?", abort=True)
    erased = erase_personal_data(db.session(), email, current_settings().secret_key)
    record(
        db.session(),
        "command line",
        "erase",
        "personal data",
        f"{erased.comments} comment(s), {erased.mails} mail(s)",
    )
    db.session.commit()
    from . import spamfilter

    spamfilter.refit(db.session())  # if lessons went: no weight may keep what they taught
    click.echo(
        f"{erased.comments} comment(s) erased; {erased.subscriptions} subscription(s) "
        f"and {erased.mails} mail(s) deleted; {erased.audit_entries} audit log "
        "detail(s) cleared"
    )
    if erased.bans_kept:
        click.echo(
            "The ban on this address is kept, as a keyed hash of the address rather than the "
            "address itself (shown as erased:... on the admin Bans page; lift it there to "
            "remove it too)."
        )


@click.command("prune-outbox")
@with_appcontext
def prune_outbox() -> None:
    """Delete sent and given-up mail older than COMMENTSVC_OUTBOX_RETENTION_DAYS."""
    from .mail.outbox import delete_old_mail
    from .models import utcnow

    count = delete_old_mail(db.session(), current_settings().outbox_retention_days, utcnow())
    db.session.commit()
    click.echo(f"{count} mail(s) deleted")


@click.command("purge-addresses")
@with_appcontext
def purge_addresses() -> None:
    """Drop stored addresses older than COMMENTSVC_ADDRESS_RETENTION_DAYS."""
    from .privacy import drop_old_addresses

    count = drop_old_addresses(db.session(), current_settings().address_retention_days)
    db.session.commit()
    click.echo(f"{count} address(es) dropped")


@click.command("create-moderator")
@with_appcontext
@click.argument("name")
@click.option("--email", required=True, help="where moderation alerts go")
@click.option(
    "--role",
    type=click.Choice([r.value for r in Role]),
    default=Role.admin.value,
    show_default=True,
)
@click.option(
    "--display-name", default=None, help="the name readers see on their replies (default: NAME)"
)
@click.option("--password-stdin", is_flag=True, help="read the password from standard input")
@click.option(
    "--site",
    "site_names",
    multiple=True,
    help="a site this moderator moderates (repeat for several; default: default); "
    "admins moderate every site",
)
def create_moderator(
    name: str,
    email: str,
    role: str,
    display_name: str | None,
    password_stdin: bool,
    site_names: tuple[str, ...],
) -> None:
    """Create a moderator account (the first one is usually an admin)."""
    from .accounts import create_moderator as create
    from .errors import ValidationFailed

    email = email.strip().lower()
    if not EMAIL.match(email):
        raise click.BadParameter("not a valid e-mail address", param_hint="--email")
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = click.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        create(
            db.session(),
            "command line",
            name=name,
            email=email,
            password=password,
            role=Role(role),
            display_name=display_name,
            sites=list(site_names) or None,
        )
    except ValidationFailed as exc:
        reasons = [reason for field in exc.fields.values() for reason in field]
        raise click.UsageError(" ".join(reasons)) from None
    db.session.commit()
    click.echo(f"Moderator {name} ({role}) created; log in at /admin/")


@click.group("site")
def site() -> None:
    """The sites (blogs) this install serves: add, list, change."""


@site.command("add")
@with_appcontext
@click.argument("name")
@click.option(
    "--origin",
    "origins",
    multiple=True,
    required=True,
    help="an origin whose pages embed the widget, like https://blog.example (repeat for several)",
)
@click.option("--title", default=None, help="the site's name, for people")
@click.option(
    "--policy",
    type=click.Choice(["all", "first-time", "none"]),
    default=None,
    help="its moderation policy (default: COMMENTSVC_MODERATION)",
)
def site_add(name: str, origins: tuple[str, ...], title: str | None, policy: str | None) -> None:
    """Add a site; embed with data-site="NAME"."""
    from . import sites
    from .config import _origins
    from .errors import ValidationFailed

    try:
        parsed = _origins(",".join(origins))
    except ValueError as exc:
        raise click.BadParameter(
            f"{exc} is not an origin like https://blog.example (no path)", param_hint="--origin"
        ) from None
    try:
        sites.add(db.session(), name, origins=parsed, title=title, moderation=policy)
    except ValidationFailed as exc:
        raise click.UsageError(" ".join(r for rs in exc.fields.values() for r in rs)) from None
    db.session.commit()
    click.echo(f'site {name} added; embed the widget with data-site="{name}"')


@site.command("list")
@with_appcontext
def site_list() -> None:
    """Every site, with the settings it sets for itself (the rest are the install's)."""
    from . import sites

    for name in sites.names(db.session()):
        own = sites.overrides(sites.require(db.session(), name))
        title = own.pop("site_title") or ""
        shown = ", ".join(f"{key}={_shown(value)}" for key, value in sorted(own.items()))
        click.echo(f"{name}\t{title}\t{shown or 'install settings'}")


def _shown(value: object) -> object:
    return list(value) if isinstance(value, tuple) else value  # as the JSON column holds it


@site.command("set")
@with_appcontext
@click.argument("name")
@click.argument("key")
@click.argument("value")
def site_set(name: str, key: str, value: str) -> None:
    """Set one of a site's own settings: title, origins, moderation, max-links, alert-emails
    or sender-name; an empty VALUE goes back to the install's setting."""
    from . import sites
    from .errors import NotFound, ValidationFailed

    try:
        sites.set_value(db.session(), sites.require(db.session(), name), key, value)
    except NotFound as exc:
        raise click.UsageError(str(exc)) from None
    except ValidationFailed as exc:
        raise click.UsageError(" ".join(r for rs in exc.fields.values() for r in rs)) from None
    db.session.commit()
    click.echo(f"site {name}: {key} set")


@click.group("spam-filter")
def spam_filter() -> None:
    """Teach the local spam filter, see what it has learned, or make it forget."""


@spam_filter.command("train")
@with_appcontext
@click.argument("file", type=click.Path(exists=True, dir_okay=False, allow_dash=True))
@click.option(
    "--format",
    "fmt",
    type=click.Choice(["csv"]),
    default="csv",
    show_default=True,
    help="columns text,label (spam or ham), or the YouTube Spam Collection's",
)
def spam_filter_train(file: str, fmt: str) -> None:
    """Learn from a labelled file of comments."""
    from . import spamfilter
    from .errors import BadTrainingFile

    try:
        if file == "-":
            examples, refused = spamfilter.labelled_examples(sys.stdin)
        else:
            with open(file, encoding="utf-8-sig", newline="") as lines:
                examples, refused = spamfilter.labelled_examples(lines)
    except (BadTrainingFile, UnicodeDecodeError) as exc:
        raise click.ClickException(f"{file}: {exc}") from None
    learned = spamfilter.train(db.session(), examples)
    db.session.commit()
    click.echo(f"learned {learned['spam']} spam and {learned['ham']} ham example(s) from {file}")
    for line in refused:
        click.echo(f"  skipped {line}", err=True)
    _refit()


@spam_filter.command("refit")
@with_appcontext
def spam_filter_refit() -> None:
    """Fit the filter's regression to every lesson now (the service refits on its own a little
    after moderators' decisions)."""
    _refit()


def _refit() -> None:
    from . import spamfilter

    seconds = spamfilter.refit(db.session())
    if seconds is None:
        click.echo("the model is up to date: no lessons changed since its last fit")
    else:
        click.echo(f"fitted the model to every lesson in {seconds:.1f} s")


@spam_filter.command("stats")
@with_appcontext
def spam_filter_stats() -> None:
    """What the spam filter has learned, and how well it tells spam apart."""
    from . import spamfilter

    settings = current_settings()
    learned = spamfilter.stats(db.session(), settings.spam_filter_hold)
    spam = learned.spam_decisions + learned.spam_from_files
    ham = learned.ham_decisions + learned.ham_from_files
    state = (
        "off"
        if settings.spam_filter == "off"
        else "learning only (SPAM_FILTER=learn)"
        if settings.spam_filter == "learn"
        else "acting"
        if min(spam, ham) >= spamfilter.MIN_LESSONS
        else f"learning: acts after {spamfilter.MIN_LESSONS} spam and "
        f"{spamfilter.MIN_LESSONS} ham lessons"
    )
    click.echo(f"filter:        {state}")
    click.echo(
        f"thresholds:    hold at {settings.spam_filter_hold}, "
        f"mark spam at {settings.spam_filter_spam}"
    )
    click.echo(
        f"decisions:     {learned.spam_decisions} spam, {learned.ham_decisions} not spam "
        "(moderators)"
    )
    click.echo(f"from files:    {learned.spam_from_files} spam, {learned.ham_from_files} not spam")
    click.echo(f"features:      {learned.features:,} ({learned.size_bytes / 1024:,.0f} KiB)")
    click.echo(
        f"last trained:  {learned.last_trained:%Y-%m-%d %H:%M UTC}"
        if learned.last_trained
        else "last trained:  never"
    )
    click.echo(
        f"fitted:        {learned.fitted:%Y-%m-%d %H:%M UTC} in {learned.fit_seconds:.1f} s"
        + (" (lessons changed since; it refits shortly)" if learned.stale else "")
        if learned.fitted
        else "fitted:        not yet (it fits a little after the first lessons)"
    )
    if learned.spam_signs:
        click.echo(f"towards spam:  {', '.join(learned.spam_signs)}")
        click.echo(f"towards real:  {', '.join(learned.real_signs)}")
    if learned.accuracy is None:
        click.echo(
            "accuracy:      not measured: needs a fit with 10 lessons of each kind to hold back"
        )
    else:
        a = learned.accuracy
        click.echo(
            f"accuracy:      {a.accuracy:.1%} on {a.tested} held-back lessons "
            f"(scored by models fitted without them): {a.spam_caught:.1%} of spam held or marked, "
            f"{a.ham_flagged:.1%} of real comments held or marked"
        )


@spam_filter.command("reset")
@with_appcontext
@click.option("--yes", is_flag=True, help="do not ask for confirmation")
def spam_filter_reset(yes: bool) -> None:
    """Forget every lesson: the filter starts again from nothing."""
    from . import spamfilter

    if not yes:
        click.confirm("Forget everything the spam filter has learned?", abort=True)
    spamfilter.reset(db.session())
    db.session.commit()
    click.echo("the spam filter has forgotten everything")


@click.command("rerender")
@with_appcontext
def rerender() -> None:
    """Render every comment's stored source again (after a renderer change)."""
    from .comments import render_again

    changed = render_again(db.session())
    db.session.commit()
    click.echo(f"{changed} comment(s) re-rendered")


def _create_app() -> Flask:
    from . import create_app
    from .errors import BadSetting

    try:
        return create_app()
    except BadSetting as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(2)


@click.command("run")
@click.option("--host", default="127.0.0.1", show_default=True, help="address to listen on")
@click.option("--port", default=8080, show_default=True, type=click.IntRange(1, 65535))
@click.option(
    "--workers",
    type=click.IntRange(1, 64),
    default=None,
    help="worker processes (default: two per core, from 2 to 8)",
)
@pass_script_info
def run(info: ScriptInfo, host: str, port: int, workers: int | None) -> None:
    """Serve commentsvc (gunicorn, access log on standard output), once the database's
    schema is current."""
    from .serve import default_workers, exec_server, schema_problem

    problem = schema_problem(info.load_app())
    if problem:
        click.echo(f"Error: {problem}", err=True)
        sys.exit(1)
    exec_server(host=host, port=port, workers=workers or default_workers())


@click.command("backup")
@with_appcontext
@click.argument("file", type=click.Path(dir_okay=False, writable=True))
def backup(file: str) -> None:
    """Copy the live SQLite database to FILE, consistently, while the service runs."""
    from .backup import backup_sqlite, sqlite_path
    from .errors import BackupRefused

    try:
        size = backup_sqlite(sqlite_path(current_settings().database_url), Path(file))
    except BackupRefused as exc:
        click.echo(f"Error: {exc}", err=True)
        sys.exit(1)
    except OSError as exc:
        _cannot_write(file, exc)
    secret = (
        "COMMENTSVC_SECRET_KEY (keep a copy of it)"
        if os.environ.get("COMMENTSVC_SECRET_KEY")
        else Path(current_app.instance_path) / "secret_key"
    )
    click.echo(
        f"{size} bytes written to {file}. Keep the secret key with it: {secret}; "
        "without it, edit links and address bans of the restored copy stop working."
    )


def _cannot_write(file: str, exc: OSError) -> None:
    click.echo(
        f"Error: cannot write {click.format_filename(file)}: {exc.strerror}; nothing was written",
        err=True,
    )
    sys.exit(1)


@click.command("check")
def check() -> None:
    """Check the settings, the database and its schema, Redis and the mail server when set;
    one line each, with what to do. Exit status 1 when any check fails."""
    from .checks import run_checks

    failed = False
    for result in run_checks(os.environ):
        click.echo(result.line())
        failed = failed or result.problem is not None
    sys.exit(1 if failed else 0)


@click.group(
    cls=FlaskGroup, create_app=_create_app, add_version_option=False, add_default_commands=False
)
def main() -> None:
    """commentsvc: self-hosted threaded comments for blogs."""


# Flask's own `run` is its development server; ours serves for real.
main.add_command(run)
main.add_command(check)
main.add_command(backup)
main.add_command(shell_command)
main.add_command(routes_command)
