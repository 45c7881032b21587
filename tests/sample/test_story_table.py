"""The story table (``dashboard/sample/stories.toml``) and the one builder."""

from __future__ import annotations

import numpy as np

from dashboard.sample.plan import EXTRACT_DATE
from dashboard.sample.stories import SCENES, STORIES, STORY_TABLE, build


def test_every_row_has_a_scene_and_every_scene_a_row_in_slot_order():
    assert [s.key for s in STORY_TABLE] == list(SCENES) == list(STORIES)
    assert len(STORY_TABLE) == 12
    for s in STORY_TABLE:
        assert s.group in ("SLE", "RA") and s.sex in ("F", "M")
        assert s.age_years[0] < s.age_years[1] and s.weight_kg[0] < s.weight_kg[1]
        assert s.title and s.summary and s.diagnosis


def test_the_builder_takes_the_person_from_the_table():
    for slot, story in enumerate(STORY_TABLE):
        plan = build(story, np.random.default_rng([7, slot, 0]), slot, cap_days=730)
        assert (plan.story, plan.group, plan.sex, plan.diagnosis) == (
            story.key,
            story.group,
            story.sex,
            story.diagnosis,
        )
        assert (plan.tpmt, plan.nudt15, plan.summary) == (story.tpmt, story.nudt15, story.summary)
        assert story.weight_kg[0] <= plan.weight_kg <= story.weight_kg[1]
        age = (EXTRACT_DATE - plan.birth_date).days / 365.25
        assert story.age_years[0] - 0.01 <= age <= story.age_years[1] + 0.01
        # the follow-up is the story's, shortened to the cap: from the Monday at most that far back
        follow = (EXTRACT_DATE - plan.follow_start).days
        assert min(story.follow_up_days, 730) - 7 < follow <= min(story.follow_up_days, 730)
        assert plan.follow_start.weekday() == 0
        for analyte, value in story.baseline.items():
            got = getattr(plan.physiology.baseline, analyte)
            if isinstance(value, float):
                assert got == value
            else:
                assert value[0] <= got <= value[1]


def test_a_seed_gives_the_same_patient():
    story = STORY_TABLE[5]  # cyc_nadir: the scene draws (nadir days) before the baseline
    a = build(story, np.random.default_rng([3, 5, 0]), 5, 730)
    b = build(story, np.random.default_rng([3, 5, 0]), 5, 730)
    assert (a.birth_date, a.weight_kg, a.physiology.baseline, a.forced_draws) == (
        b.birth_date,
        b.weight_kg,
        b.physiology.baseline,
        b.forced_draws,
    )
