"""The exports commentsvc imports, by key and name, and the statuses an import may give.

Kept apart from the importers so that the admin's import form and the command line can list
them while the importers (commentsvc.importers: the readers, the XML parser) load only when a
file is imported.
"""

IMPORT_FORMATS = {
    "blogger": "Blogger",
    "disqus": "Disqus",
    "wordpress": "WordPress",
    "isso": "Isso",
    "commentsvc": "commentsvc",
}
IMPORT_STATUSES = ("approved", "pending")
