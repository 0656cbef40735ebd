"""What the page refuses: files outside the workspace, oversized or malformed uploads,
script in names, forged forms and anonymous requests where a sign-in is required.

Each refusal is a page with one clear sentence (never a traceback), and nothing is
stored.
"""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from starlette.testclient import TestClient

from simulation.web.app import Settings, create_app
from simulation.web.security import CSRF_COOKIE
from simulation.web.workspace import MAX_SCENARIO_BYTES


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(workspace=tmp_path / "workspace", run_jobs=False))
    with TestClient(app) as client:
        client.get("/")
        yield client


def _token(client: TestClient) -> str:
    token = client.cookies.get(CSRF_COOKIE)
    assert token
    return str(token)


def _upload(client: TestClient, text: str | bytes, filename: str = "mine.yaml") -> object:
    return client.post(
        "/upload",
        data={"csrf": _token(client)},
        files={"file": (filename, text, "application/x-yaml")},
    )


def _own(tmp_path: Path) -> list[str]:
    return sorted(p.name for p in (tmp_path / "workspace" / "scenarios").iterdir())


VALID = "extends: ../examples/baseline.yaml\nname: mine\n"


def test_a_valid_upload_is_stored_and_runs_from_the_command_line(
    client: TestClient, tmp_path: Path
) -> None:
    response = _upload(client, VALID)
    assert response.status_code == 200 and "Saved" in response.text  # type: ignore[attr-defined]
    assert _own(tmp_path) == ["mine.yaml"]
    from simulation.scenario.loading import load_scenario

    assert load_scenario(tmp_path / "workspace" / "scenarios" / "mine.yaml").name == "mine"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("extends: ../../../../etc/passwd\nname: mine\n", "is outside the workspace"),
        ("extends: /etc/hostname\nname: mine\n", "is outside the workspace"),
        (VALID + "census: /etc/passwd\n", "is outside the workspace"),
        (VALID + "census: ../../outside.csv\n", "is outside the workspace"),
        (VALID + "money:\n  budget_from: ../../../x.yaml\n", "is outside the workspace"),
    ],
)
def test_files_outside_the_workspace_cannot_be_named(
    client: TestClient, tmp_path: Path, text: str, message: str
) -> None:
    response = _upload(client, text)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert message in response.text  # type: ignore[attr-defined]
    assert "Traceback" not in response.text  # type: ignore[attr-defined]
    assert _own(tmp_path) == []


def test_an_extends_chain_is_checked_before_each_file_is_read(
    client: TestClient, tmp_path: Path
) -> None:
    scenarios = tmp_path / "workspace" / "scenarios"
    # A file in the workspace that itself leaves it (written by hand, not by the page).
    (scenarios / "hop.yaml").write_text("extends: ../../../../etc/passwd\nname: hop\n")
    response = _upload(client, "extends: hop.yaml\nname: mine\n")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "scenarios/hop.yaml:1: extends:" in response.text  # type: ignore[attr-defined]
    assert "outside the workspace" in response.text  # type: ignore[attr-defined]
    assert _own(tmp_path) == ["hop.yaml"]


def test_a_symbolic_link_out_of_the_workspace_is_not_followed(
    client: TestClient, tmp_path: Path
) -> None:
    outside = tmp_path / "outside.yaml"
    outside.write_text(VALID.replace("mine", "outside"))
    (tmp_path / "workspace" / "scenarios" / "outside.yaml").symlink_to(outside)
    assert "outside" not in client.get("/").text
    assert client.get("/scenarios/outside").status_code == 404
    assert client.get("/scenarios/outside/download").status_code == 404


@pytest.mark.parametrize(
    "path",
    [
        "/scenarios/..%2F..%2Fetc%2Fpasswd",
        "/scenarios/../../etc/passwd/download",
        "/scenarios/%2e%2e/download",
        "/jobs/..%2Fjobs.sqlite",
        "/static/..%2F..%2Fapp.py",
    ],
)
def test_path_traversal_in_addresses_finds_nothing(client: TestClient, path: str) -> None:
    response = client.get(path)
    assert response.status_code == 404
    assert "root:" not in response.text and "import" not in response.text


def test_a_job_names_only_library_scenarios(client: TestClient, tmp_path: Path) -> None:
    response = client.post(
        "/jobs",
        data={"csrf": _token(client), "scenario": "../examples/baseline", "replications": "2"},
    )
    assert response.status_code == 404
    assert "no scenario of that name" in response.text


def test_an_oversized_upload_is_refused_before_it_is_read(
    client: TestClient, tmp_path: Path
) -> None:
    big = VALID + "# " + "x" * (MAX_SCENARIO_BYTES + 10) + "\n"
    response = _upload(client, big)
    assert response.status_code == 413  # type: ignore[attr-defined]
    assert "larger than 256 KB" in response.text  # type: ignore[attr-defined]
    assert _own(tmp_path) == []


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("name: [unclosed\n", "scenarios/mine.yaml:2: YAML syntax error"),
        (b"\xff\xfe\x00binary", "not UTF-8"),
        ("- just\n- a list\n", "expected"),
        (VALID + "units:\n- name: Ashwood Medium Secure\n  beds: lots\n",
         "units[0].beds: expected a whole number from 0 to 100,000, got 'lots'"),
    ],
)  # fmt: skip
def test_a_malformed_upload_gets_the_validate_message_and_is_not_stored(
    client: TestClient, tmp_path: Path, text: str | bytes, message: str
) -> None:
    response = _upload(client, text)
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert message in html.unescape(response.text)  # type: ignore[attr-defined]
    assert _own(tmp_path) == []


def test_script_in_a_name_is_refused_and_shown_as_text(client: TestClient, tmp_path: Path) -> None:
    script = "<script>alert(1)</script>"
    response = _upload(client, f"extends: ../examples/baseline.yaml\nname: '{script}'\n", "x.yaml")
    assert response.status_code == 422  # type: ignore[attr-defined]
    assert "<script>alert" not in response.text  # type: ignore[attr-defined]
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in response.text  # type: ignore[attr-defined]
    response = client.post(
        "/scenarios", data={"csrf": _token(client), "from": "baseline", "name": script}
    )
    assert response.status_code == 422 and "<script>alert" not in response.text
    assert _own(tmp_path) == []


def test_script_in_a_description_is_stored_as_text_and_shown_escaped(
    client: TestClient, tmp_path: Path
) -> None:
    text = VALID + "description: '<img src=x onerror=alert(1)>'\n"
    assert _upload(client, text).status_code == 200  # type: ignore[attr-defined]
    for page in ("/", "/scenarios/mine"):
        html = client.get(page).text
        assert "<img src=x" not in html
        assert "&lt;img src=x onerror=alert(1)&gt;" in html


def test_a_form_without_the_csrf_token_changes_nothing(client: TestClient, tmp_path: Path) -> None:
    response = client.post("/scenarios", data={"from": "baseline", "name": "forged"})
    assert response.status_code == 403 and "reload the page" in response.text
    response = client.post("/scenarios", data={"csrf": "guess", "from": "baseline", "name": "f"})
    assert response.status_code == 403
    response = client.post("/upload", data={}, files={"file": ("f.yaml", VALID, "text/yaml")})
    assert response.status_code == 403
    assert _own(tmp_path) == []


def test_pages_forbid_inline_script_and_framing(client: TestClient) -> None:
    response = client.get("/")
    policy = response.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "frame-ancestors 'none'" in policy
    assert response.headers["x-frame-options"] == "DENY"
    assert not re.search(r"<script>(?!</script>)", response.text), "no inline script"


def test_a_trusted_header_is_required_when_configured(tmp_path: Path) -> None:
    app = create_app(
        Settings(workspace=tmp_path / "workspace", run_jobs=False, user_header="X-Remote-User")
    )
    with TestClient(app) as client:
        refused = client.get("/")
        assert refused.status_code == 401 and "X-Remote-User" in refused.text
        page = client.get("/", headers={"X-Remote-User": "a.planner@nhs.net"})
        assert page.status_code == 200 and "Signed in as a.planner@nhs.net" in page.text
        token = client.cookies.get(CSRF_COOKIE)
        job = client.post(
            "/jobs",
            data={"csrf": token, "scenario": "baseline", "replications": "2"},
            headers={"X-Remote-User": "a.planner@nhs.net"},
        )
        assert job.status_code == 200 and "by a.planner@nhs.net" in job.text


def test_the_csrf_cookie_is_secure_behind_an_https_proxy(tmp_path: Path) -> None:
    signed_in = {"X-Remote-User": "a.planner@nhs.net"}
    app = create_app(
        Settings(workspace=tmp_path / "workspace", run_jobs=False, user_header="X-Remote-User")
    )
    with TestClient(app) as client:
        cookie = client.get("/", headers={**signed_in, "X-Forwarded-Proto": "https"})
        assert "secure" in cookie.headers["set-cookie"].lower()
    with TestClient(app) as client:
        cookie = client.get("/", headers=signed_in)
        assert "secure" not in cookie.headers["set-cookie"].lower()  # plain HTTP proxy
    # Without a trusted proxy, a forwarded scheme is anyone's to claim: not believed.
    plain = create_app(Settings(workspace=tmp_path / "other", run_jobs=False))
    with TestClient(plain) as client:
        cookie = client.get("/", headers={"X-Forwarded-Proto": "https"})
        assert "secure" not in cookie.headers["set-cookie"].lower()


def test_two_requests_making_the_same_new_scenario_do_not_both_write_it(tmp_path: Path) -> None:
    import threading

    from simulation.core.problems import InputError
    from simulation.web.workspace import Workspace

    workspace = Workspace(tmp_path / "workspace")
    made: list[str] = []
    refused: list[str] = []

    def create(description: str) -> None:
        text = f"extends: ../examples/baseline.yaml\nname: race\ndescription: {description}\n"
        try:
            workspace.save("race", text, new=True)
            made.append(description)
        except InputError as error:
            refused.append(str(error.problems[0]))

    racers = [threading.Thread(target=create, args=(f"by {i}",)) for i in range(6)]
    for racer in racers:
        racer.start()
    for racer in racers:
        racer.join()
    assert len(made) == 1 and len(refused) == 5
    assert all("a scenario named 'race' exists" in r for r in refused)
    assert f"description: {made[0]}" in (workspace.scenarios / "race.yaml").read_text()
    assert [p.name for p in workspace.scenarios.iterdir() if p.name.startswith(".tmp")] == []
