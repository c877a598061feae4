"""Named events, so mail and other side effects stay out of the domain and the views.

Receivers are called inside the sender's transaction with (session, settings, comment).
"""

from blinker import Namespace

_events = Namespace()

comment_posted = _events.signal("comment-posted")  # any new comment, whatever its status
comment_approved = _events.signal("comment-approved")  # became public (on post or by a moderator)
