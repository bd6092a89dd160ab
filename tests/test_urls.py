"""Link prefixes for pages that list hundreds of rows."""

from __future__ import annotations

import pytest
from flask import url_for

from portal.urls import link_prefix


@pytest.mark.parametrize(
    ("endpoint", "id_arg"),
    [
        ("reports.section", "section_id"),
        ("media.item", "item_id"),
        ("assignments.assignment", "assignment_id"),
        ("review.thread", "annotation_id"),
    ],
)
def test_a_prefix_and_an_id_make_the_address_url_for_makes(app, endpoint, id_arg):
    with app.test_request_context():
        prefix = link_prefix(endpoint, id_arg)
        for number in (1, 7, 12345):
            assert prefix + str(number) == url_for(endpoint, **{id_arg: number})


def test_a_rule_whose_id_does_not_end_the_address_is_refused(app):
    with app.test_request_context(), pytest.raises(ValueError, match="does not end"):
        link_prefix("reports.read", "section_id")  # /sections/<id>/read
