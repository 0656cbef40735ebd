"""The editor's requests as the page sends them: checked as typed, saved only when valid."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import pytest
import yaml
from starlette.testclient import TestClient

from simulation.web.app import Settings, create_app
from simulation.web.security import CSRF_COOKIE


@pytest.fixture
def client(tmp_path: Path) -> Iterator[TestClient]:
    app = create_app(Settings(workspace=tmp_path / "workspace", run_jobs=False))
    with TestClient(app) as client:
        client.get("/")
        token = client.cookies.get(CSRF_COOKIE)
        made = client.post("/scenarios", data={"csrf": token, "from": "baseline", "name": "mine"})
        assert made.status_code == 200 and made.url.path == "/scenarios/mine"
        yield client


def _post(client: TestClient, path: str, **fields: str) -> object:
    return client.post(path, data={"csrf": client.cookies.get(CSRF_COOKIE), **fields})


def _file(tmp_path: Path) -> dict[str, object]:
    data = yaml.safe_load((tmp_path / "workspace" / "scenarios" / "mine.yaml").read_text())
    assert isinstance(data, dict)
    return data


def test_a_dated_change_out_of_the_run_is_shown_by_the_change_and_not_saved(
    client: TestClient, tmp_path: Path
) -> None:
    before = _file(tmp_path)
    fields = {"change.date": "2040-01-01", "change.what": "beds:2", "change.to": "60"}
    checked = _post(client, "/scenarios/mine/check", **fields)
    problem = re.search(r'id="change-problem"[^>]*>([^<]*)', checked.text)  # type: ignore[attr-defined]
    assert problem and "2040-01-01" in problem.group(1)
    saved = _post(client, "/scenarios/mine/save", **fields)
    assert saved.status_code == 422  # type: ignore[attr-defined]
    assert _file(tmp_path) == before


def test_a_valid_dated_change_is_saved_and_listed_in_planner_words(
    client: TestClient, tmp_path: Path
) -> None:
    # beds:4 is the baseline's fifth unit, Beacon Low Secure.
    fields = {"change.date": "2027-04-01", "change.what": "beds:4", "change.to": "60"}
    saved = _post(client, "/scenarios/mine/save", **fields)
    assert saved.status_code == 200 and "Saved" in saved.text  # type: ignore[attr-defined]
    changes = _file(tmp_path)["changes"]
    assert changes == [{"date": "2027-04-01", "set": "beds", "unit": "Beacon Low Secure", "to": 60}]
    assert "From 2027-04-01: Beacon Low Secure: 60 beds" in saved.text  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "count", ["", "x", "0", "-1", "1001", "2.5", "\u00b2", "\u0663", "9" * 400]
)
def test_a_replications_count_that_is_not_one_to_the_limit_is_refused(
    client: TestClient, count: str
) -> None:
    # Superscript two once reached int() and a server error; Arabic-Indic three ran 3.
    refused = _post(client, "/jobs", scenario="mine", replications=count)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "Replications must be a whole number from 1 to 1000" in refused.text  # type: ignore[attr-defined]


def test_the_run_box_offers_what_the_page_runs_and_a_refusal_leads_back(
    client: TestClient,
) -> None:
    many = "extends: ../examples/baseline.yaml\nname: mine\nreplications: 5000\n"
    assert _post(client, "/scenarios/mine/yaml", yaml=many).status_code == 200  # type: ignore[attr-defined]
    page = client.get("/scenarios/mine").text
    box = re.search(r'<input id="replications"[^>]*>', page)
    assert box and 'value="1000"' in box.group(0)  # the scenario's 5,000 is over the page's limit
    refused = _post(client, "/jobs", scenario="mine", replications="5000")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert '<a href="/scenarios/mine">Back to mine</a>' in refused.text  # type: ignore[attr-defined]


def test_a_copy_is_offered_for_comparison_with_what_it_was_copied_from(
    client: TestClient,
) -> None:
    made = _post(client, "/scenarios", **{"from": "demand_growth", "name": "growth_copy"})
    assert made.status_code == 200  # type: ignore[attr-defined]
    page = client.get("/scenarios/growth_copy").text
    chosen = re.search(r'<select id="base"[^>]*>.*?</select>', page, re.S)
    assert chosen and '<option value="demand_growth" selected>' in chosen.group(0)
    page = client.get("/scenarios/mine").text  # made from the baseline
    chosen = re.search(r'<select id="base"[^>]*>.*?</select>', page, re.S)
    assert chosen and '<option value="baseline" selected>' in chosen.group(0)


def test_an_empty_longest_wait_box_says_what_empty_means(client: TestClient) -> None:
    page = client.get("/scenarios/mine").text
    box = re.search(r'<input id="f-pathways-adult-secure-max-wait-days-urgent"[^>]*>', page)
    assert box and 'placeholder="never"' in box.group(0)


def test_a_percentage_box_speaks_in_percentages(client: TestClient, tmp_path: Path) -> None:
    # The loader's words are for a share in the file (0.15 for 15%): followed in a box
    # shown in %, they would save a value a hundred times too small.
    share = "pathways.camhs_t4.diversion.share"
    refused = _post(client, "/scenarios/mine/save", **{share: "200"})
    assert refused.status_code == 422  # type: ignore[attr-defined]
    shown = refused.text  # type: ignore[attr-defined]
    problem = re.search(r'id="f-pathways-camhs-t4-diversion-share-problem"[^>]*>([^<]*)', shown)
    assert problem and html.unescape(problem.group(1)).strip() == (
        "expected a percentage from 0 to 100, got 200"
    )
    ceiling = "units[0].occupancy_ceiling"
    refused = _post(client, "/scenarios/mine/check", **{ceiling: "150"})
    text = html.unescape(refused.text)  # type: ignore[attr-defined]
    assert "expected a percentage greater than 0 and at most 100, got 150" in text
    fields = {"change.date": "2027-04-01", "change.what": "diversion:1", "change.to": "150"}
    refused = _post(client, "/scenarios/mine/check", **fields)
    problem = re.search(r'id="change-problem"[^>]*>([^<]*)', refused.text)  # type: ignore[attr-defined]
    assert problem and html.unescape(problem.group(1)).strip() == (
        "expected a percentage from 0 to 100, got 150"
    )
    saved = _post(client, "/scenarios/mine/save", **{share: "80%"})
    assert saved.status_code == 200  # type: ignore[attr-defined]
    assert _file(tmp_path)["pathways"]["camhs_t4"]["diversion"]["share"] == 0.8  # type: ignore[index]


@pytest.mark.parametrize(
    ("fields", "expected"),
    [
        ({"change.date": "2027-04-01", "change.what": "beds:0", "change.to": ""},
         "a dated change: give the new value (beds)"),
        ({"change.date": "", "change.what": "beds:0", "change.to": "12"},
         "a dated change: give the date it changes from"),
        ({"change.date": "2027-04-01", "change.what": "beds:999", "change.to": "12"},
         "a dated change: choose what changes"),
    ],
)  # fmt: skip
def test_half_a_dated_change_is_refused_at_the_change_not_dropped(
    client: TestClient, tmp_path: Path, fields: dict[str, str], expected: str
) -> None:
    before = _file(tmp_path)
    refused = _post(client, "/scenarios/mine/save", **fields)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    problem = re.search(r'id="change-problem"[^>]*>([^<]*)', refused.text)  # type: ignore[attr-defined]
    assert problem and html.unescape(problem.group(1)).strip() == expected
    assert _file(tmp_path) == before


def test_half_a_dated_change_is_shown_with_the_other_problems(client: TestClient) -> None:
    fields = {
        "change.date": "2027-04-01",
        "change.what": "beds:0",
        "change.to": "",
        "pathways.camhs_t4.diversion.share": "200",
    }
    checked = _post(client, "/scenarios/mine/check", **fields).text  # type: ignore[attr-defined]
    change = re.search(r'id="change-problem"[^>]*>([^<]*)', checked)
    share = re.search(r'id="f-pathways-camhs-t4-diversion-share-problem"[^>]*>([^<]*)', checked)
    assert change and "give the new value" in change.group(1)
    assert share and "expected a percentage from 0 to 100" in html.unescape(share.group(1))


def test_a_description_too_long_is_named_as_the_description_not_the_file(
    client: TestClient, tmp_path: Path
) -> None:
    before = _file(tmp_path)
    refused = _post(client, "/scenarios/mine/save", description="x" * 300_000)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = html.unescape(refused.text)  # type: ignore[attr-defined]
    assert "description: the description is 300,000 characters long; a description is" in text
    assert "larger than" not in text
    assert _file(tmp_path) == before


def test_the_check_never_writes_and_shows_the_yaml_to_be_saved(
    client: TestClient, tmp_path: Path
) -> None:
    before = _file(tmp_path)
    checked = _post(client, "/scenarios/mine/check", **{"pathways.adult_ed.annual_growth": "4"})
    assert "annual_growth: 0.04" in checked.text  # type: ignore[attr-defined]
    assert "Unsaved changes" in checked.text  # type: ignore[attr-defined]
    assert _file(tmp_path) == before


def test_yaml_typed_in_the_editor_is_validated_before_it_is_saved(
    client: TestClient, tmp_path: Path
) -> None:
    before = _file(tmp_path)
    bad = "extends: ../examples/baseline.yaml\nname: mine\nhorizon_years: -1\n"
    refused = _post(client, "/scenarios/mine/yaml", yaml=bad)
    assert refused.status_code == 422  # type: ignore[attr-defined]
    assert "horizon_years" in refused.text  # type: ignore[attr-defined]
    assert _file(tmp_path) == before
    good = "extends: ../examples/baseline.yaml\nname: mine\nhorizon_years: 2\n"
    assert _post(client, "/scenarios/mine/yaml", yaml=good).status_code == 200  # type: ignore[attr-defined]
    assert _file(tmp_path)["horizon_years"] == 2


def test_a_scenario_others_are_built_on_is_not_deleted(client: TestClient, tmp_path: Path) -> None:
    folder = tmp_path / "workspace" / "scenarios"
    (folder / "child.yaml").write_text("extends: mine.yaml\nname: child\n")
    (folder / "grandchild.yaml").write_text("extends: child.yaml\nname: grandchild\n")
    refused = _post(client, "/scenarios/mine/delete")
    assert refused.status_code == 409  # type: ignore[attr-defined]
    text = html.unescape(refused.text)  # type: ignore[attr-defined]
    assert "Not deleted: mine: child, grandchild are built on it" in text
    assert (folder / "mine.yaml").is_file()
    assert _post(client, "/scenarios/grandchild/delete").status_code == 200  # type: ignore[attr-defined]
    assert not (folder / "grandchild.yaml").exists()
    assert _post(client, "/scenarios/child/delete").status_code == 200  # type: ignore[attr-defined]
    assert _post(client, "/scenarios/mine/delete").status_code == 200  # type: ignore[attr-defined]
    assert not (folder / "mine.yaml").exists()


def test_problems_on_the_page_name_workspace_files_without_the_servers_folders(
    client: TestClient, tmp_path: Path
) -> None:
    folder = tmp_path / "workspace" / "scenarios"
    (folder / "orphan.yaml").write_text("extends: gone.yaml\nname: orphan\n")
    library = html.unescape(client.get("/").text)
    assert "Has a problem: scenarios/orphan.yaml:1: extends: parent scenario 'gone.yaml'" in library
    assert "(looked for scenarios/gone.yaml)" in library
    [shown] = re.findall(r"Has a problem: ([^<]*)", library)
    assert str(tmp_path) not in shown


def test_shipped_examples_are_not_changed_from_the_page(client: TestClient, tmp_path: Path) -> None:
    example = tmp_path / "workspace" / "examples" / "baseline.yaml"
    before = example.read_text()
    refused = _post(client, "/scenarios/baseline/save", **{"units[0].beds": "1"})
    assert refused.status_code == 403  # type: ignore[attr-defined]
    assert _post(client, "/scenarios/baseline/delete").status_code == 404  # type: ignore[attr-defined]
    assert example.read_text() == before


def test_a_comparison_over_another_period_is_refused_before_it_is_queued(
    client: TestClient, tmp_path: Path
) -> None:
    # A one-year run against the baseline's five would be read as a cut of four fifths.
    short = "extends: ../examples/baseline.yaml\nname: mine\nhorizon_years: 1\n"
    assert _post(client, "/scenarios/mine/yaml", yaml=short).status_code == 200  # type: ignore[attr-defined]
    refused = _post(client, "/jobs", scenario="mine", base="baseline", replications="2")
    assert refused.status_code == 422  # type: ignore[attr-defined]
    text = html.unescape(refused.text)  # type: ignore[attr-defined]
    assert "mine covers 1 year from 1 April 2026, and the base baseline 5 years" in text
    assert "must cover the same period" in text
    from simulation.web.jobs import JobStore
    from simulation.web.workspace import Workspace

    assert JobStore(Workspace(tmp_path / "workspace").jobs).recent() == []
    assert _post(client, "/jobs", scenario="mine", replications="2").status_code == 200  # type: ignore[attr-defined]
    assert len(JobStore(Workspace(tmp_path / "workspace").jobs).recent()) == 1  # alone, it runs


@pytest.mark.slow
def test_a_finished_comparison_shows_and_downloads_its_results(
    client: TestClient, tmp_path: Path
) -> None:
    import io
    import zipfile

    from simulation.web.jobs import JobStore, Runner
    from simulation.web.workspace import Workspace

    short = "extends: ../examples/baseline.yaml\nname: mine\nhorizon_years: 1\n"
    assert _post(client, "/scenarios/mine/yaml", yaml=short).status_code == 200  # type: ignore[attr-defined]
    base = "extends: ../examples/baseline.yaml\nname: base\nhorizon_years: 1\n"
    (tmp_path / "workspace" / "scenarios" / "base.yaml").write_text(base)
    started = _post(client, "/jobs", scenario="mine", base="base", replications="2")
    job_path = started.url.path  # type: ignore[attr-defined]
    workspace = Workspace(tmp_path / "workspace")
    store = JobStore(workspace.jobs)
    job = store.get(job_path.rsplit("/", 1)[1])
    assert job is not None and job.state == "queued"
    Runner(workspace, store, workers=1).run(job)

    page = client.get(job_path)
    assert page.status_code == 200 and "mine compared with base" in page.text
    assert "Difference (95% CI)" in page.text
    figures = re.findall(r'src="(/jobs/[^"]+/figures/([^"]+)\.png)"', page.text)
    keys = [key for _, key in figures]
    assert any(k.startswith("forest") for k in keys) and "equity" in keys
    png = client.get(figures[0][0])
    assert png.status_code == 200 and png.content.startswith(b"\x89PNG")
    assert client.get(job_path + "/figures/nothing.png").status_code == 404

    report = client.get(job_path + "/report.html")
    assert report.status_code == 200 and "<html" in report.text
    assert "script-src" not in report.headers["content-security-policy"]
    pdf = client.get(job_path + "/report.pdf")
    assert pdf.status_code == 200 and pdf.content.startswith(b"%PDF")
    archive = zipfile.ZipFile(io.BytesIO(client.get(job_path + "/results.zip").content))
    names = archive.namelist()
    assert any(n.endswith("/manifest.json") for n in names)
    assert all(n.startswith("compare-base/") for n in names)

    listing = client.get("/jobs")
    assert listing.status_code == 200 and job_path in listing.text


class _FormFields(HTMLParser):
    """What a browser sends for a form: text and hidden boxes, ticked boxes, selections."""

    def __init__(self, form_id: str) -> None:
        super().__init__()
        self.form_id = form_id
        self.inside = False
        self.fields: dict[str, str] = {}
        self.select: str | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.inside = a.get("id") == self.form_id
        if not self.inside or "disabled" in a:
            return
        if tag == "input" and "name" in a:
            if a.get("type") not in ("checkbox", "radio") or "checked" in a:
                self.fields[a["name"]] = a.get("value", "")
        elif tag == "select":
            self.select = a["name"]
        elif (
            tag == "option"
            and self.select is not None
            and (self.select not in self.fields or "selected" in a)
        ):
            self.fields[self.select] = a.get("value", "")

    def handle_endtag(self, tag: str) -> None:
        if tag == "form":
            self.inside = False
        elif tag == "select":
            self.select = None


def _as_sent(page: str, form_id: str = "planner-form") -> dict[str, str]:
    parser = _FormFields(form_id)
    parser.feed(page)
    return parser.fields


def test_saving_the_form_unchanged_keeps_the_files_own_text(
    client: TestClient, tmp_path: Path
) -> None:
    text = "# Our winter plan\nextends: ../examples/baseline.yaml\nname: mine  # kept\n"
    assert _post(client, "/scenarios/mine/yaml", yaml=text).status_code == 200  # type: ignore[attr-defined]
    values = _as_sent(client.get("/scenarios/mine").text)
    assert values["units[0].sex"] == "male" and "units[0].streams.0" in values
    saved = _post(client, "/scenarios/mine/save", **values)
    assert saved.status_code == 200  # type: ignore[attr-defined]
    assert (tmp_path / "workspace" / "scenarios" / "mine.yaml").read_text() == text


def _problem(page: str, dom_id: str) -> str:
    found = re.search(rf'id="{dom_id}-problem"[^>]*>([^<]*)', page)
    return html.unescape(found.group(1)) if found else ""


def test_staffed_beds_above_funded_are_shown_at_the_field_and_not_saved(
    client: TestClient, tmp_path: Path
) -> None:
    before = _file(tmp_path)
    # units[4] is Beacon Low Secure, 40 funded beds.
    fields = {"units[4].staffed_beds": "50", "show.units[4].beds": "yes"}
    checked = _post(client, "/scenarios/mine/check", **fields).text  # type: ignore[attr-defined]
    assert "staffed_beds (50) is more than beds (40)" in _problem(checked, "f-units-4-staffed-beds")
    assert re.search(r'<button id="save" disabled', checked)
    # The unit's fields stay open while the planner works in them.
    assert re.search(r'id="show-f-units-4-beds"[^>]*checked', checked)
    assert _post(client, "/scenarios/mine/save", **fields).status_code == 422  # type: ignore[attr-defined]
    assert _file(tmp_path) == before
    fields["units[4].staffed_beds"] = "12"
    saved = _post(client, "/scenarios/mine/save", **fields)
    assert saved.status_code == 200  # type: ignore[attr-defined]
    assert _file(tmp_path)["units"] == [{"name": "Beacon Low Secure", "staffed_beds": 12}]
    assert "men · mental illness · 12 beds staffed" in saved.text  # type: ignore[attr-defined]


def test_a_ward_with_census_patients_it_would_refuse_says_so_at_whom_it_takes(
    client: TestClient,
) -> None:
    page = client.get("/scenarios/mine").text
    values = _as_sent(page)
    values["units[4].sex"] = "female"
    checked = _post(client, "/scenarios/mine/check", **values).text  # type: ignore[attr-defined]
    problem = _problem(checked, "f-units-4-sex")
    assert "Beacon Low Secure does not take sex 'male' (it takes female)" in problem
    assert "baseline-census.csv" in problem and " rows: lines " in problem
    assert 'class="problems"' not in checked  # one message at the field, not one a patient


def test_a_staffed_beds_change_is_saved_and_listed(client: TestClient, tmp_path: Path) -> None:
    fields = {"change.date": "2027-01-01", "change.what": "staffed:4", "change.to": "12"}
    saved = _post(client, "/scenarios/mine/save", **fields)
    assert saved.status_code == 200  # type: ignore[attr-defined]
    assert _file(tmp_path)["changes"] == [
        {"date": "2027-01-01", "set": "staffed_beds", "unit": "Beacon Low Secure", "to": 12}
    ]
    assert "From 2027-01-01: Beacon Low Secure: 12 beds staffed" in saved.text  # type: ignore[attr-defined]


def test_stream_boxes_are_shown_only_for_units_of_a_pathway_with_streams(
    client: TestClient,
) -> None:
    sent = _as_sent(client.get("/scenarios/mine").text)
    # units[0], Ashwood Medium Secure (adult secure), takes mental illness only.
    assert sent["units[0].streams"] == "ticks" and sent["units[0].streams.0"] == "yes"
    assert "units[0].streams.1" not in sent
    # units[8], Willow Adolescent Unit (CAMHS tier 4): that mix has no streams.
    assert "units[8].sex" in sent and not any(k.startswith("units[8].streams") for k in sent)
