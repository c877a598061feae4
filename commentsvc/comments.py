"""Writing comments: post, edit and delete, each inside the caller's transaction."""

from __future__ import annotations

import ipaddress
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, cast

from flask_babel import gettext
from sqlalchemy import bindparam, select
from sqlalchemy.orm import Session

from . import antispam, events, sites, spamfilter, tokens
from .audit import record
from .config import Settings
from .errors import Forbidden, NotFound, ThreadClosed, TokenExpired, ValidationFailed
from .models import Comment, Moderator, Status, Thread, utcnow
from .moderation import decide_status, filter_action, read_rules
from .render import render_comment, render_source
from .validation import CommentInput, validate_comment

DEFAULT_SITE = sites.DEFAULT_SITE


@dataclass
class PostResult:
    comment: Comment
    edit_token: str
    edit_until: datetime
    public_status: Status  # spam is reported as pending, so bots learn nothing


def anonymise_address(address: str | None) -> str | None:
    """Keep the network, drop the host: IPv4 /24, IPv6 /48."""
    if not address:
        return None
    try:
        ip = ipaddress.ip_address(address.strip())
    except ValueError:
        return None
    if ip.version == 6 and ip.ipv4_mapped is not None:  # "::ffff:82.119.20.7" is IPv4
        ip = ip.ipv4_mapped
    prefix = 24 if ip.version == 4 else 48
    return str(ipaddress.ip_network(f"{ip}/{prefix}", strict=False).network_address)


_FIND_THREAD = select(Thread).where(
    Thread.site == bindparam("site"), Thread.uri == bindparam("uri")
)


def find_thread(session: Session, site: str, uri: str) -> Thread | None:
    return session.execute(_FIND_THREAD, {"site": site, "uri": uri}).scalar_one_or_none()


def post_comment(
    session: Session,
    settings: Settings,
    *,
    data: Mapping[str, Any],
    remote_addr: str | None,
    site: str = DEFAULT_SITE,
    lang: str | None = None,
) -> PostResult:
    """Validate and store a new comment; the thread is created by its first comment. `lang`
    is the reader's language (a BCP-47 tag), kept for the mails they will get. The site's own
    settings (origins, policy, rules) apply."""
    settings = sites.settings_for(session, settings, site)
    entry = validate_comment(
        data, max_text=settings.max_text_length, origins=settings.allowed_origins
    )
    secret = settings.secret_key
    thread = find_thread(session, site, entry.uri)
    if thread is not None and thread.closed:
        raise ThreadClosed()
    parent = None
    if entry.parent_id is not None:
        parent = session.get(Comment, entry.parent_id)
        # A reply to a comment marked spam is taken like one to a held comment (and quietly
        # marked spam too): the answer must not tell a spammer what we think of them.
        if (
            parent is None
            or thread is None
            or parent.thread_id != thread.id
            or parent.status == Status.deleted
        ):
            raise ValidationFailed(
                {"parent_id": [gettext("The comment you reply to is not in this thread.")]}
            )
    remote_hash = tokens.keyed_hash(secret, remote_addr or "")
    text_hash = antispam.text_digest(entry.text)
    bot_signal, unused_token = _bot_signal(
        session, settings, entry, site, remote_addr, remote_hash, text_hash
    )
    if bot_signal is None and parent is not None and parent.status == Status.spam:
        bot_signal = "reply to a comment marked spam"
    html = render_comment(entry.text)
    status, reason, score = _judge(
        session,
        settings,
        text=entry.text,
        html=html,
        email=entry.email,
        remote_hash=remote_hash,
        bot_signal=bot_signal,
        author=entry.author,
        website=entry.website,
        lang=lang,
    )
    if status == Status.approved and parent is not None and parent.status != Status.approved:
        # A reply to a comment that is not public waits for a moderator, whether the parent is
        # held or marked spam: both answer "pending", so the answer tells nothing of a verdict.
        status, reason = Status.pending, "reply to a comment awaiting moderation"
    # The post's first write. On SQLite it takes the database's write lock until the commit,
    # so everything above (reads, rendering, the spam checks) is done before it. Of two posts
    # racing with one token, the second waits here for the first's commit and finds it used.
    if unused_token is not None and not antispam.use_form_token(session, unused_token):
        status, reason = Status.spam, "bot signal: form token used before"
    if thread is None:
        thread = Thread(site=site, uri=entry.uri, title=entry.title)
        session.add(thread)
    comment = Comment(
        thread=thread,
        parent_id=parent.id if parent else None,
        author=entry.author,
        email=entry.email,
        website=entry.website,
        text=entry.text,
        text_hash=text_hash,
        html=html,
        status=status,
        held_reason=reason,
        notify=entry.notify and entry.email is not None,
        lang=lang,
        remote_addr=anonymise_address(remote_addr),
        remote_hash=remote_hash,
        avatar=avatar_seed(secret, entry.email, entry.author, remote_hash),
        created=utcnow(),
        spam_score=score,
        filter_action=filter_action(status, reason),
    )
    session.add(comment)
    session.flush()
    _announce(session, settings, comment)
    return PostResult(
        comment=comment,
        edit_token=tokens.issue_edit_token(secret, comment.id),
        edit_until=comment.created + timedelta(seconds=settings.edit_window),
        public_status=reader_status(status),
    )


def reader_status(status: Status) -> Status:
    """The status a comment's own author is shown: spam looks like pending, so bots learn
    nothing from any answer."""
    return Status.pending if status == Status.spam else status


def avatar_seed(secret: str, email: str | None, author: str | None, remote_hash: str) -> str:
    """The public identicon seed: of the e-mail and the name together, so that comments under
    two names cannot be linked to one e-mail address by their pictures."""
    source = f"{email}|{author or ''}" if email else f"{author}|{remote_hash}"
    return tokens.keyed_hash(secret, source, 16)


def _announce(session: Session, settings: Settings, comment: Comment) -> None:
    """Tell the receivers (mail) of a new comment, and that it is public when it is."""
    events.comment_posted.send(session, settings=settings, comment=comment)
    if comment.status == Status.approved:
        events.comment_approved.send(session, settings=settings, comment=comment)


def _bot_signal(
    session: Session,
    settings: Settings,
    entry: CommentInput,
    site: str,
    remote_addr: str | None,
    remote_hash: str,
    text_hash: str,
) -> tuple[str | None, str | None]:
    """Why a post looks like a bot's, or None (the poster is never told); and its form token
    when it is good and not yet used, to be marked used with the comment."""
    if entry.honeypot:
        return "honeypot filled", None
    problem = tokens.form_token_problem(
        settings.secret_key,
        entry.form_token,
        site=site,
        uri=entry.uri,
        min_age=settings.min_submit_seconds,
        max_age=settings.form_token_max_age,
    )
    if problem:
        return problem, None
    token = cast(str, entry.form_token)  # a token with no problem is a string
    if antispam.form_token_used(session, token):
        return "form token used before", None
    return _content_signal(
        session,
        settings,
        text_hash=text_hash,
        remote_hash=remote_hash,
        email=entry.email,
        fields={
            "user_ip": remote_addr,
            "comment_author": entry.author,
            "comment_author_email": entry.email,
            "comment_author_url": entry.website,
            "comment_content": entry.text,
            "permalink": entry.uri,
        },
    ), token


def _content_signal(
    session: Session,
    settings: Settings,
    *,
    text_hash: str,
    remote_hash: str,
    email: str | None,
    fields: Mapping[str, str | None],
    exclude: int = 0,
) -> str | None:
    """The spam signals of what a comment says, for new comments and edits alike."""
    if antispam.is_duplicate(
        session,
        text_hash=text_hash,
        remote_hash=remote_hash,
        email=email,
        window=settings.duplicate_window,
        exclude=exclude,
    ):
        return "same text again from the same source"
    if antispam.akismet_says_spam(settings, fields):
        return "spam check service"
    return None


def _own_comment(
    session: Session, settings: Settings, comment_id: int, token: str | None
) -> Comment:
    if not token:
        raise Forbidden(gettext("An edit token is required (Authorization: Bearer ...)."))
    try:
        granted = tokens.edit_token_comment(settings.secret_key, token, settings.edit_window)
    except tokens.ExpiredToken as exc:
        raise TokenExpired() from exc
    except tokens.InvalidToken as exc:
        raise Forbidden(gettext("This edit token is not valid.")) from exc
    if granted != comment_id:
        raise Forbidden(gettext("This edit token is for another comment."))
    comment = session.get(Comment, comment_id)
    if comment is None or comment.status == Status.deleted or not sites.on_site(settings, comment):
        raise NotFound(gettext("No such comment."))
    return comment


def _judge(
    session: Session,
    settings: Settings,
    *,
    text: str,
    html: str,
    email: str | None,
    remote_hash: str,
    bot_signal: str | None,
    author: str | None,
    website: str | None,
    lang: str | None,
) -> tuple[Status, str | None, float | None]:
    """What a new or edited comment with this content gets, the same for both: the spam
    filter's score, then the moderation decision on it. (status, why, score)"""
    rules = read_rules(session, settings, email, remote_hash)
    verdict = spamfilter.classify(
        session,
        settings,
        text=text,
        author=author,
        website=website,
        lang=lang,
        lessons=rules.lessons,
    )
    status, reason = decide_status(
        session,
        settings,
        text=text,
        html=html,
        email=email,
        remote_hash=remote_hash,
        bot_signal=bot_signal,
        author=author,
        website=website,
        verdict=verdict,
        rules=rules,
    )
    return status, reason, verdict.score if verdict else None


def edit_comment(
    session: Session,
    settings: Settings,
    comment_id: int,
    token: str | None,
    data: Mapping[str, Any],
    remote_addr: str | None = None,
) -> Comment:
    """Change the text (and name, website) of a reader's own comment inside the edit window.

    An edit meets every check a new comment with the same content would: one that would be
    refused is refused and changes nothing; one that would be held takes a published comment
    out of public view until a moderator approves it again. A closed thread takes no edits.
    """
    comment = _own_comment(session, settings, comment_id, token)
    if comment.thread.closed:
        # Closed means no new words on the thread; withdrawing one's own stays allowed.
        raise ThreadClosed(gettext("Comments are closed."))
    entry = validate_comment(data, max_text=settings.max_text_length, partial=True)
    author = entry.author if "author" in data else comment.author
    website = entry.website if "website" in data else comment.website
    html = render_comment(entry.text)
    text_hash = antispam.text_digest(entry.text)
    remote_hash = tokens.keyed_hash(settings.secret_key, remote_addr or "")
    signal = _content_signal(
        session,
        settings,
        text_hash=text_hash,
        remote_hash=remote_hash,
        email=comment.email,
        exclude=comment.id,
        fields={
            "user_ip": remote_addr,
            "comment_author": author,
            "comment_author_email": comment.email,
            "comment_author_url": website,
            "comment_content": entry.text,
            "permalink": comment.thread.uri,
        },
    )
    verdict, reason, score = _judge(
        session,
        settings,
        text=entry.text,
        html=html,
        email=comment.email,
        remote_hash=remote_hash,
        bot_signal=signal,
        author=author,
        website=website,
        lang=comment.lang,
    )
    was = comment.status
    comment.text, comment.html, comment.text_hash = entry.text, html, text_hash
    comment.text_format = "markdown"
    comment.author, comment.website = author, website
    comment.avatar = avatar_seed(
        settings.secret_key, comment.email, author, comment.remote_hash or remote_hash
    )
    comment.edited = utcnow()
    comment.spam_score = score
    # Never upwards: an edit cannot publish a held comment nor rescue one marked spam.
    if (
        verdict == Status.spam
        and was != Status.spam
        or (verdict == Status.pending and was == Status.approved)
    ):
        comment.status = verdict
        comment.held_reason = f"edited: {reason}"[:200]
        comment.filter_action = filter_action(verdict, reason)
    session.flush()
    if comment.status == Status.pending and was != Status.pending:
        events.comment_posted.send(session, settings=settings, comment=comment)  # alert moderators
    return comment


def delete_comment(
    session: Session, settings: Settings, comment_id: int, token: str | None
) -> Comment:
    """Withdraw a reader's own comment; replies keep it as a placeholder in the tree."""
    comment = _own_comment(session, settings, comment_id, token)
    comment.status = Status.deleted
    comment.edited = utcnow()
    session.flush()
    return comment


def edit_as_moderator(
    session: Session, comment: Comment, text: str, actor: Moderator | str
) -> Comment:
    """A moderator's correction of a comment's text, re-rendered and logged."""
    comment.text = text
    comment.html = render_source(text, comment.text_format)
    comment.edited = utcnow()
    record(session, actor, "edit", f"comment {comment.id}")
    session.flush()
    return comment


def reply_as_moderator(
    session: Session, settings: Settings, parent: Comment, moderator: Moderator, text: str
) -> Comment:
    """A moderator's reply: public at once, marked as the moderator's."""
    if parent.status in (Status.spam, Status.deleted):
        raise ValidationFailed({"text": ["Replies to spam or deleted comments are not possible."]})
    comment = Comment(
        thread_id=parent.thread_id,
        parent_id=parent.id,
        author=moderator.display_name or moderator.name,
        email=moderator.email.lower(),
        text=text,
        html=render_comment(text),
        status=Status.approved,
        moderator_id=moderator.id,
        created=utcnow(),
        avatar=avatar_seed(
            settings.secret_key,
            moderator.email.lower(),
            moderator.display_name or moderator.name,
            "",
        ),
    )
    session.add(comment)
    session.flush()
    record(session, moderator, "reply", f"comment {parent.id}", f"reply {comment.id}")
    _announce(session, settings, comment)
    return comment


def render_again(session: Session) -> int:
    """Render every comment's stored source again (after a change of the renderer); how many
    comments' HTML changed."""
    changed = 0
    for comment in session.execute(select(Comment)).scalars():
        html = render_source(comment.text, comment.text_format)
        if html != comment.html:
            comment.html = html
            changed += 1
    return changed
