"""Per-language text through the ops API (issue 15): ``translations`` on incidents,
maintenance, updates, components and groups, stored and answered as sent, merged by a
PATCH, and refused (422 naming the field, nothing changed) when not a page language's
text that the base field would take."""

from __future__ import annotations

from typing import Any

import pytest

from notifier import translations
from notifier.schemas import translations as schemas
from tests.conftest import Client
from tests.status_page.api.records import Sessions, rows_by_table

JA_TITLE = "決済エラー"
JA_BODY = "一部のお支払いが失敗しております。"


async def _send(
    client: Client, admin: dict[str, str], method: str, path: str, body: dict[str, Any]
) -> dict[str, Any]:
    response = await client.request(method, f"/api/v1{path}", json=body, headers=admin)
    assert response.status in (200, 201), await response.text()
    answer: dict[str, Any] = await response.json()
    return answer


async def _get(client: Client, admin: dict[str, str], path: str) -> dict[str, Any]:
    response = await client.get(f"/api/v1{path}", headers=admin)
    assert response.status == 200
    answer: dict[str, Any] = await response.json()
    return answer


async def test_an_incident_keeps_its_title_and_bodies_per_language(
    client: Client, admin: dict[str, str]
) -> None:
    created = await _send(
        client,
        admin,
        "POST",
        "/incidents",
        {
            "title": "Checkout errors",
            "body": "Some payments fail.",
            "translations": {"ja": {"title": JA_TITLE, "body": JA_BODY}},
        },
    )
    path = f"/incidents/{created['id']}"
    assert created["translations"] == {"ja": {"title": JA_TITLE}}
    assert created["updates"][0]["translations"] == {"ja": {"body": JA_BODY}}
    assert await _get(client, admin, path) == created

    updated = await _send(
        client,
        admin,
        "POST",
        f"{path}/updates",
        {
            "status": "identified",
            "body": "Found it.",
            "translations": {"ja": {"body": "原因を特定"}},
        },
    )
    untranslated = await _send(
        client, admin, "POST", f"{path}/updates", {"status": "monitoring", "body": "Fixed."}
    )
    resolved = await _send(client, admin, "POST", f"{path}/resolve", {})

    assert updated["updates"][0]["translations"] == {"ja": {"body": "原因を特定"}}
    assert untranslated["updates"][0]["translations"] == {}
    # Resolved with the default body: its Japanese comes with it.
    assert resolved["updates"][0]["body"] == "This incident has been resolved."
    assert resolved["updates"][0]["translations"] == {"ja": {"body": "この障害は解決しました。"}}
    assert [u["translations"] for u in resolved["updates"][3:]] == [{"ja": {"body": JA_BODY}}]


async def test_a_patch_merges_translations_and_null_removes_them(
    client: Client, admin: dict[str, str]
) -> None:
    created = await _send(
        client,
        admin,
        "POST",
        "/components",
        {
            "name": "Checkout API",
            "translations": {"ja": {"name": "決済API", "description": "説明"}},
        },
    )
    path = f"/components/{created['id']}"
    assert created["translations"] == {"ja": {"name": "決済API", "description": "説明"}}

    kept = await _send(client, admin, "PATCH", path, {"position": 3})
    renamed = await _send(client, admin, "PATCH", path, {"translations": {"ja": {"name": "決済"}}})
    emptied = await _send(
        client, admin, "PATCH", path, {"translations": {"ja": {"description": None}}}
    )
    gone = await _send(client, admin, "PATCH", path, {"translations": {"ja": None}})

    assert kept["translations"] == created["translations"]
    assert renamed["translations"] == {"ja": {"name": "決済", "description": "説明"}}
    assert emptied["translations"] == {"ja": {"name": "決済"}}
    assert gone["translations"] == {}
    assert (await _get(client, admin, path))["translations"] == {}


async def test_an_incidents_title_translation_is_patched_and_a_groups_name_kept(
    client: Client, admin: dict[str, str]
) -> None:
    incident = await _send(
        client, admin, "POST", "/incidents", {"title": "Slow pages", "body": "Looking."}
    )
    patched = await _send(
        client,
        admin,
        "PATCH",
        f"/incidents/{incident['id']}",
        {"translations": {"ja": {"title": "表示の遅延"}}},
    )
    group = await _send(
        client,
        admin,
        "POST",
        "/component-groups",
        {"name": "Web", "translations": {"ja": {"name": "ウェブ"}}},
    )
    renamed = await _send(
        client, admin, "PATCH", f"/component-groups/{group['id']}", {"name": "Website"}
    )

    assert incident["translations"] == {}
    assert patched["translations"] == {"ja": {"title": "表示の遅延"}}
    assert patched["title"] == "Slow pages"
    assert renamed["translations"] == {"ja": {"name": "ウェブ"}}


async def test_a_maintenance_translates_its_title_updates_and_automatic_steps(
    client: Client, admin: dict[str, str]
) -> None:
    created = await _send(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Database upgrade",
            "body": "Planned.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
            "translations": {"ja": {"title": "データベースの更新", "body": "予定"}},
        },
    )
    path = f"/maintenance/{created['id']}"
    posted = await _send(
        client,
        admin,
        "PATCH",
        path,
        {"body": "Moved.", "translations": {"ja": {"title": "DB更新", "body": "変更"}}},
    )
    started = await _send(
        client,
        admin,
        "PATCH",
        path,
        {"status": "in_progress", "translations": {"ja": {"body": "作業を始めました"}}},
    )
    completed = await _send(client, admin, "PATCH", path, {"status": "completed"})

    assert created["translations"] == {"ja": {"title": "データベースの更新"}}
    assert created["updates"][0]["translations"] == {"ja": {"body": "予定"}}
    assert posted["translations"] == {"ja": {"title": "DB更新"}}
    assert posted["updates"][0]["translations"] == {"ja": {"body": "変更"}}
    # The automatic English text, with the Japanese given or, without one, built in.
    assert started["updates"][0]["body"] == "Scheduled maintenance is now in progress."
    assert started["updates"][0]["translations"] == {"ja": {"body": "作業を始めました"}}
    assert completed["updates"][0]["translations"] == {
        "ja": {"body": "計画メンテナンスが完了しました。"}
    }
    other = await _send(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Cache flush",
            "body": "Planned.",
            "scheduled_for": "2030-01-02T02:00:00Z",
            "scheduled_until": "2030-01-02T04:00:00Z",
        },
    )
    cancelled = await _send(client, admin, "POST", f"/maintenance/{other['id']}/cancel", {})
    assert cancelled["updates"][0]["translations"] == {
        "ja": {"body": "この計画メンテナンスは中止になりました。"}
    }


def _incident(**translated: Any) -> dict[str, Any]:
    return {"title": "Checkout errors", "body": "Some fail.", "translations": translated}


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/incidents", _incident(en={"title": "x"}), "translations.en"),
        ("/incidents", _incident(fr={"title": "x"}), "translations.fr"),
        ("/incidents", _incident(ja={"title": ""}), "translations.ja.title"),
        ("/incidents", _incident(ja={"title": "   "}), "translations.ja.title"),
        ("/incidents", _incident(ja={"title": "x" * 301}), "translations.ja.title"),
        ("/incidents", _incident(ja={"title": "決済\nエラー"}), "translations.ja.title"),
        ("/incidents", _incident(ja={"title": 7}), "translations.ja.title"),
        ("/incidents", _incident(ja={"body": "a\x00b"}), "translations.ja.body"),
        ("/incidents", _incident(ja={"body": "x" * 20_001}), "translations.ja.body"),
        ("/incidents", _incident(ja={"name": "x"}), "translations.ja.name"),
        ("/incidents", _incident(ja="決済エラー"), "translations.ja"),
        ("/incidents", {"title": "t", "body": "b", "translations": []}, "translations"),
        ("/components", {"name": "API", "translations": {"ja": {"name": "x" * 201}}}, None),
        ("/components", {"name": "API", "translations": {"ja": {"name": "a\tb"}}}, None),
        ("/components", {"name": "API", "translations": {"ja": {"description": ""}}}, None),
        ("/components", {"name": "API", "translations": {"ja": {"title": "x"}}}, None),
        (
            "/maintenance",
            {
                "title": "Upgrade",
                "body": "Planned.",
                "scheduled_for": "2030-01-01T02:00:00Z",
                "scheduled_until": "2030-01-01T04:00:00Z",
                "translations": {"ja": {"body": "\x1b[31m"}},
            },
            "translations.ja.body",
        ),
    ],
)
async def test_bad_translations_are_a_422_naming_the_field_and_change_nothing(
    client: Client,
    admin: dict[str, str],
    sessions: Sessions,
    path: str,
    body: dict[str, Any],
    field: str | None,
) -> None:
    before = await rows_by_table(sessions)

    response = await client.post(f"/api/v1{path}", json=body, headers=admin)

    assert response.status == 422, await response.text()
    assert response.content_type == "application/problem+json"
    named = [e["field"] for e in (await response.json())["errors"]]
    if field is None:  # the component cases: the one field under ja
        [key] = body["translations"]["ja"]
        field = f"translations.ja.{key}"
    assert field in named, named
    assert await rows_by_table(sessions) == before


async def test_a_refused_patch_or_update_changes_nothing(
    client: Client, admin: dict[str, str], sessions: Sessions
) -> None:
    incident = await _send(
        client,
        admin,
        "POST",
        "/incidents",
        {"title": "Slow", "body": "Looking.", "translations": {"ja": {"title": "遅延"}}},
    )
    item = await _send(
        client,
        admin,
        "POST",
        "/maintenance",
        {
            "title": "Upgrade",
            "body": "Planned.",
            "scheduled_for": "2030-01-01T02:00:00Z",
            "scheduled_until": "2030-01-01T04:00:00Z",
        },
    )
    before = await rows_by_table(sessions)
    cases = [
        ("PATCH", f"/incidents/{incident['id']}", {"translations": {"ja": {"title": ""}}}),
        ("PATCH", f"/incidents/{incident['id']}", {"translations": {"ja": {"body": "x"}}}),
        (
            "POST",
            f"/incidents/{incident['id']}/updates",
            {"status": "identified", "body": "x", "translations": {"ja": {"body": "a\x07"}}},
        ),
    ]
    fields = []
    for method, path, body in cases:
        response = await client.request(method, f"/api/v1{path}", json=body, headers=admin)
        assert response.status == 422, await response.text()
        fields.append([e["field"] for e in (await response.json())["errors"]])
    # A translated body when the PATCH posts no update: nothing to translate (409, as
    # whether it posts one depends on the status the maintenance has).
    for same in ({}, {"status": "scheduled"}):
        response = await client.patch(
            f"/api/v1/maintenance/{item['id']}",
            json={**same, "translations": {"ja": {"body": "変更"}}},
            headers=admin,
        )
        assert response.status == 409, await response.text()
        fields.append([e["field"] for e in (await response.json())["errors"]])

    assert fields == [
        ["translations.ja.title"],
        ["translations.ja.body"],
        ["translations.ja.body"],
        ["translations.ja.body"],
        ["translations.ja.body"],
    ]
    assert await rows_by_table(sessions) == before
    assert (await _get(client, admin, f"/incidents/{incident['id']}"))["translations"] == {
        "ja": {"title": "遅延"}
    }


def test_every_page_language_but_the_default_is_a_translation_key() -> None:
    models = [
        schemas.TitleBodyTranslations,
        schemas.BodyTranslations,
        schemas.TitlePatchTranslations,
        schemas.MaintenancePatchTranslations,
        schemas.NameTranslations,
        schemas.NamePatchTranslations,
    ]
    for model in models:
        assert tuple(model.model_fields) == translations.TRANSLATED
