"""Time the no-JavaScript thread page of one comment with 1,000 replies, in process.

Prints the time of the first request (rendered) and of repeated ones (from the per-process
cache), per backend-independent SQLite file. Usage: .venv/bin/python bench/thread_page_bench.py
"""

from __future__ import annotations

import statistics
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # measure this tree, not whatever the venv points at

from commentsvc import create_app  # noqa: E402
from commentsvc.extensions import db  # noqa: E402
from commentsvc.models import Comment, Status, Thread, utcnow  # noqa: E402

URI = "/2008/01/a-busy-post.html"
REPLIES = 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        app = create_app(
            {
                "DATABASE_URL": f"sqlite:///{tmp}/bench.sqlite3",
                "SECRET_KEY": "bench-" + "k" * 40,
                "MAIL_BACKGROUND": False,
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            db.create_all()
            start = utcnow() - timedelta(days=1)
            thread = Thread(uri=URI, title="A busy post")
            root = Comment(
                thread=thread,
                author="Ann",
                text="Root",
                html="<p>Root</p>",
                status=Status.approved,
                created=start,
            )
            db.session.add_all([thread, root])
            db.session.flush()
            db.session.add_all(
                Comment(
                    thread=thread,
                    parent_id=root.id,
                    author=f"Reader {n}",
                    text=f"Reply *{n}*",
                    html=f"<p>Reply <em>{n}</em></p>",
                    status=Status.approved,
                    created=start + timedelta(seconds=n + 1),
                )
                for n in range(REPLIES)
            )
            db.session.commit()
        client = app.test_client()
        began = time.perf_counter()
        first = client.get(f"/comments?uri={URI}")
        first_ms = (time.perf_counter() - began) * 1000
        repeats = []
        for _ in range(20):
            began = time.perf_counter()
            client.get(f"/comments?uri={URI}")
            repeats.append((time.perf_counter() - began) * 1000)
        size = len(first.get_data())
        print(
            f"no-JS thread page, 1 comment + {REPLIES} replies: status {first.status_code}, "
            f"{size:,} bytes"
        )
        print(f"  first request  {first_ms:8.1f} ms")
        print(f"  repeated       {statistics.median(repeats):8.1f} ms (median of 20)")


if __name__ == "__main__":
    main()
