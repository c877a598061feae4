"""wrk scripts of the posting row: every request a new comment, with a text no post repeats.

Each script counts in `response()` what became of its posts and prints it in `done()` as one
line that `posting_outcome` reads back.
"""

from __future__ import annotations

import json
import re
import secrets
from pathlib import Path

# Shared by the three scripts: the same texts, the same bookkeeping on wrk's side.
PRELUDE = """
local tag = %(tag)s
local n = 0
local headers = {["Content-Type"] = "application/json"}
local function text(i)
  return "Comment " .. tag .. "-" .. i .. ": I **really** liked the part about `fsync` and "
    .. "[this benchmark](https://example.org/bench/" .. i .. "). Would the numbers change "
    .. "on a bigger machine? Thanks for writing it up, café and all."
end
approved, held, refused, reads = 0, 0, 0, 0
local threads = {}
setup = function(thread) table.insert(threads, thread) end
done = function(summary, latency, requests)
  for _, t in ipairs(threads) do
    io.write(string.format("posting: approved %%d held %%d refused %%d token-reads %%d\\n",
      t:get("approved"), t:get("held"), t:get("refused"), t:get("reads")))
  end
end
"""

# The floor parses a body of the same shape and answers 200.
FLOOR = """
local uris, parents = %(uris)s, %(parents)s
request = function()
  n = n + 1
  local i = n %% #uris + 1
  local parent = ""
  if n %% 3 == 0 then parent = ',"parent_id":' .. parents[i] end
  return wrk.format("POST", "/ok", headers, '{"uri":"' .. uris[i]
    .. '","author":"Bench reader ' .. i .. '","text":"' .. text(n) .. '"' .. parent .. '}')
end
response = function(status)
  if status == 200 then approved = approved + 1 else refused = refused + 1 end
end
"""

# Isso: POST /new?uri=..., no token; 201 is a published comment, 202 one held for review.
ISSO = """
local paths, parents = %(paths)s, %(parents)s
request = function()
  n = n + 1
  local i = n %% #paths + 1
  local parent = "null"
  if n %% 3 == 0 then parent = parents[i] end
  return wrk.format("POST", paths[i], headers, '{"title":"Bench post","author":"Bench reader '
    .. i .. '","text":"' .. text(n) .. '","parent":' .. parent .. '}')
end
response = function(status)
  if status == 201 then approved = approved + 1
  elseif status == 202 then held = held + 1
  else refused = refused + 1 end
end
"""

# commentsvc: each post spends a form token, and its 201 answer carries the thread's next one,
# as the widget uses it. The pool starts with tokens read from GET /api/form-token before the
# pass; a thread whose pool is empty gets a GET for one (counted apart, never as a post).
COMMENTSVC = """
local uris, parents, token_paths, pool = %(uris)s, %(parents)s, %(token_paths)s, %(pool)s
local index = {}
for i, uri in ipairs(uris) do index[uri] = i end
request = function()
  n = n + 1
  local i = n %% #uris + 1
  local token = table.remove(pool[i])
  if token == nil then
    reads = reads + 1
    return wrk.format("GET", token_paths[i])
  end
  local parent = ""
  if n %% 3 == 0 then parent = ',"parent_id":' .. parents[i] end
  return wrk.format("POST", "/api/comments", headers, '{"uri":"' .. uris[i]
    .. '","author":"Bench reader ' .. i .. '","text":"' .. text(n) .. '","form_token":"'
    .. token .. '"' .. parent .. '}')
end
response = function(status, headers, body)
  local i
  if status == 201 then
    i = tonumber(body:match('"author":%%s*"Bench reader (%%d+)"'))
    if body:match('"status":%%s*"approved"') then approved = approved + 1
    else held = held + 1 end
  elseif status == 200 then
    i = index[body:match('"uri":%%s*"([^"]+)"')]
  else
    refused = refused + 1
  end
  local token = body:match('"form_token":%%s*"([^"]+)"')
  if token and i then table.insert(pool[i], token) end
end
"""


def lua(value: object) -> str:
    """A Lua literal of a string, a number or a list of them (JSON strings are Lua strings)."""
    if isinstance(value, list | tuple):
        return "{" + ", ".join(lua(v) for v in value) + "}"
    if isinstance(value, str):
        return json.dumps(value)
    return str(int(value))


def write(workdir: Path, body: str, **values: object) -> Path:
    """A script of the prelude and `body`, with a new tag: its texts repeat no earlier pass."""
    path = workdir / f"post-{secrets.token_hex(4)}.lua"
    values = {"tag": secrets.token_hex(4), **values}
    path.write_text((PRELUDE + body) % {k: lua(v) for k, v in values.items()}, encoding="utf-8")
    return path


def posting_outcome(wrk_output: str) -> dict[str, int]:
    """approved, held, refused and token-reads, as the script's done() printed them."""
    found = re.search(
        r"^posting: approved (\d+) held (\d+) refused (\d+) token-reads (\d+)$", wrk_output, re.M
    )
    if not found:
        return {}
    return dict(
        zip(("approved", "held", "refused", "token-reads"), map(int, found.groups()), strict=True)
    )
