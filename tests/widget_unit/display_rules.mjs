// Prints what the widget and count.js make of a thread and of counts, for
// tests/test_display_rules.py to hold against the no-JS page. Reads {"thread": [...],
// "numbers": [...]} on stdin; writes {"layout": [[id, depth, in reply to]], "widget":
// {tag: [label, ...]}, "count": {tag: [...]}}.
import { readFileSync } from "node:fs";

import { countJsCount, embed, widgetCount } from "./load.mjs";

const { thread, numbers } = JSON.parse(readFileSync(0, "utf8"));
const labels = (wording) => Object.fromEntries(
  embed.LANGS.map((tag) => [tag, numbers.map((n) => wording(tag, n))]));
process.stdout.write(JSON.stringify({
  layout: embed.layout(thread).map((e) => [e.c.id, e.depth, e.beside ? e.parent.c.id : null]),
  widget: labels(widgetCount),
  count: labels(countJsCount),
}));
