"""The baseline for `bench/run`: the smallest Flask app, served with the portal's gunicorn settings.

What it can do on this machine is the ceiling the portal's pages are compared against.
"""

from flask import Flask

app = Flask(__name__)


@app.get("/")
def hello() -> str:
    return "Hello, World!"
