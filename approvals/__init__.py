"""Four-eyes approval: a change that moves money or identity is a request until a second officer
approves it.

The request holds what the maker asked for (a JSON payload, and an uploaded file's text where the
change is a file); nothing of it is in force until a checker other than the maker approves it. On
approval the request's kind applies it through the owning app's service, in the same transaction
that marks the request approved: a refusal (a ``ValidationError``) leaves everything as it was and
the request pending. Each app registers its kinds (``approvals.registry``) when it starts, so this
app sits just above ``kalabarg.lib`` and imports no domain app.
"""
