"""Turn report drafts into safe HTML, compare versions and import uploaded files.

This package owns the algorithmic side of a draft section's text and knows nothing of Flask,
requests or the database: `rendering` parses Markdown with markdown-it-py, gives every block a
content-derived id (the anchor annotations hang on) and sanitises the HTML with an nh3
allow-list; `diffing` produces a word-level diff between two plain texts; `importing` turns an
uploaded Word (.docx) or Markdown file into Markdown, refusing anything empty, oversized, of the
wrong type or damaged with an `ImportRefused` reason code the views translate.
"""
