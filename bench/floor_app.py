"""The floor: the least a Flask app can do per request, run under the same gunicorn settings.

Every benchmark figure is read as a ratio to this app, measured in the same run, because
absolute requests per second move by a quarter from run to run on shared machines.
"""

from flask import Flask, jsonify, request

app = Flask(__name__)


@app.get("/ok")
def ok():
    """A constant JSON object."""
    return jsonify({"ok": 1})


@app.post("/ok")
def ok_post():
    """Parse the JSON body, answer a constant JSON object."""
    request.get_json()
    return jsonify({"ok": 1})
