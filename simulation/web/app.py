"""The web application: the scenario library, the editor, jobs and their results.

Pages are rendered on the server from Jinja templates (autoescaped: every name,
description and message a user typed is shown as text), and HTMX swaps parts of a page
(the checked form as the planner types, the progress of a job) without a JavaScript
build step. Every change is a POST carrying the browser's CSRF token
(:mod:`simulation.web.security`). The application only arranges what the layers below
compute: the loader validates, the job runner runs the streamed run of the command line,
and the report's content is the results page.
"""

from __future__ import annotations

import os
import re
from collections.abc import Awaitable, Callable, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import (
    FileResponse,
    HTMLResponse,
    PlainTextResponse,
    RedirectResponse,
    Response,
    StreamingResponse,
)
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from simulation.core.problems import InputError, Problem
from simulation.experiment.comparison import period_problems
from simulation.scenario.yamlsource import parse_yaml
from simulation.store.reader import NotAResultsFolder
from simulation.web import forms
from simulation.web.jobs import MAX_REPLICATIONS, Job, JobStore, Runner, fingerprint
from simulation.web.results import ResultsViews, zip_folder
from simulation.web.security import (
    CSRF_COOKIE,
    CSRF_FIELD,
    CSRF_HEADER,
    REPORT_POLICY,
    SecurityHeaders,
    new_token,
    tokens_match,
)
from simulation.web.workspace import (
    MAX_SCENARIO_BYTES,
    NAME_PATTERN,
    Workspace,
    name_problem,
    upload_name,
)

STATIC = Path(__file__).parent / "static"
MAX_FORM_BYTES = MAX_SCENARIO_BYTES + 64 * 1024
"""The largest request body accepted: a scenario file and a few fields."""
MAX_USER = 200
"""The longest user name kept from the trusted header."""


@dataclass
class Settings:
    """How the application was started."""

    workspace: Path
    workers: int | None = None
    cluster: str | None = None
    user_header: str | None = None
    """A header set by a trusted reverse proxy that names the signed-in user."""
    examples: Path | None = None
    run_jobs: bool = True
    """Whether this process runs the queued jobs (a test may run them itself)."""


class Site:
    """The application's state: workspace, job store, runner and templates."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self.workspace = Workspace(settings.workspace, settings.examples)
        self.store = JobStore(self.workspace.jobs)
        self.runner = Runner(self.workspace, self.store, settings.workers, settings.cluster)
        self.views = ResultsViews()
        self.templates = Environment(
            loader=PackageLoader("simulation.web", "templates"),
            autoescape=select_autoescape(default=True, default_for_string=True),
            trim_blocks=True,
            lstrip_blocks=True,
        )
        self.templates.globals["numeric_columns"] = numeric_columns
        self.templates.filters["where"] = self._where

    def _where(self, problem: Problem) -> str:
        """A problem as ``pathways validate`` prints it, with workspace files relative."""
        return self.workspace.shown(problem)

    # -- rendering ---------------------------------------------------------------------

    def page(
        self, request: Request, template: str, status: int = 200, **context: Any
    ) -> HTMLResponse:
        """Render a template with the request's CSRF token and user."""
        token = request.cookies.get(CSRF_COOKIE) or request.state.csrf
        html = self.templates.get_template(template).render(
            csrf=token, user=request.state.user, csrf_field=CSRF_FIELD, **context
        )
        response = HTMLResponse(html, status_code=status)
        if request.cookies.get(CSRF_COOKIE) != token:
            response.set_cookie(
                CSRF_COOKIE, token, httponly=True, samesite="strict", secure=self._https(request)
            )
        return response

    def _https(self, request: Request) -> bool:
        """Whether the browser reached the page over HTTPS.

        Directly, or through the signing-in proxy: its ``X-Forwarded-Proto`` is believed
        only when ``--user-header`` says there is one.
        """
        if request.url.scheme == "https":
            return True
        forwarded = request.headers.get("x-forwarded-proto", "")
        return self.settings.user_header is not None and forwarded.lower() == "https"

    def refusal(
        self, request: Request, status: int, message: str, back: str | None = None
    ) -> HTMLResponse:
        """A page saying, in one sentence, why a request was refused.

        ``back``: the scenario whose page the request came from, linked to go back to it.
        """
        return self.page(request, "error.html", status=status, message=message, back=back)


NUMBER = re.compile(r"^[−+\-]?[£]?[0-9]")


def numeric_columns(rows: Sequence[Sequence[tuple[str, str]]]) -> set[int]:
    """The columns of a report table that hold mostly numbers (shown right-aligned)."""
    if not rows:
        return set()
    width = len(rows[0])
    return {
        i
        for i in range(width)
        if sum(bool(NUMBER.match(row[i][0].strip())) for row in rows) * 2 > len(rows)
    }


def _site(request: Request) -> Site:
    site: Site = request.app.state.site
    return site


async def _form(request: Request) -> dict[str, str]:
    """The request's form fields (text only), after the size and CSRF checks."""
    data = await request.form(max_part_size=MAX_FORM_BYTES)
    fields = {k: v for k, v in data.items() if isinstance(v, str)}
    given = fields.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER)
    if not tokens_match(request.cookies.get(CSRF_COOKIE), given):
        raise HTTPException(
            403, "This form has expired or came from another site; reload the page and try again."
        )
    return fields


def _too_large(request: Request, limit: int) -> bool:
    length = request.headers.get("content-length")
    return length is None or not length.isdigit() or int(length) > limit


# -- the library -------------------------------------------------------------------------


async def library(request: Request) -> Response:
    """The scenario library, the upload form and the latest jobs."""
    site = _site(request)
    entries = await run_in_threadpool(site.workspace.library)
    return site.page(
        request,
        "library.html",
        own=[e for e in entries if not e.shipped],
        shipped=[e for e in entries if e.shipped],
        jobs=site.store.recent(20),
        workspace=str(site.workspace.root),
        max_kb=MAX_SCENARIO_BYTES // 1024,
    )


async def create_scenario(request: Request) -> Response:
    """A new scenario that ``extends`` another and changes nothing yet."""
    site = _site(request)
    ws = site.workspace
    form = await _form(request)
    name = form.get("name", "").strip()
    try:
        parent = ws.scenario_path(form.get("from", ""))
    except KeyError:
        return site.refusal(request, 404, "There is no scenario of that name to start from.")
    problems: list[Problem] = []
    if not NAME_PATTERN.match(name):
        problems.append(Problem("name", None, "", name_problem(name)))
    elif (ws.scenarios / f"{name}.yaml").exists() or (ws.examples / f"{name}.yaml").exists():
        problems.append(Problem("name", None, "", f"a scenario named {name!r} exists"))
    if not problems:
        relative = Path(os.path.relpath(parent, ws.scenarios)).as_posix()
        text = forms.derived_from(relative, name, form.get("description", "").strip())
        try:
            await run_in_threadpool(ws.save, name, text, True)
        except InputError as error:
            problems = error.problems
    if problems:
        return site.page(
            request,
            "new.html",
            status=422,
            parent=parent.stem,
            name=name,
            description=form.get("description", ""),
            problems=problems,
        )
    return RedirectResponse(f"/scenarios/{name}", status_code=303)


async def upload(request: Request) -> Response:
    """A scenario file from the planner's computer: checked whole before it is stored."""
    site = _site(request)
    if _too_large(request, MAX_FORM_BYTES):
        return site.refusal(
            request,
            413,
            f"The upload is larger than {MAX_SCENARIO_BYTES // 1024} KB (or its size was not "
            "given); a scenario file is a few KB of YAML.",
        )
    data = await request.form(max_files=1, max_fields=4, max_part_size=MAX_FORM_BYTES)
    if not tokens_match(request.cookies.get(CSRF_COOKIE), str(data.get(CSRF_FIELD) or "")):
        return site.refusal(request, 403, "This form has expired; reload the page and try again.")
    file = data.get("file")
    if file is None or isinstance(file, str):
        return site.refusal(request, 400, "Choose a scenario file (.yaml) to upload.")
    raw = await file.read(MAX_SCENARIO_BYTES + 1)
    problems: list[Problem] = []
    name = ""
    if len(raw) > MAX_SCENARIO_BYTES:
        problems.append(
            Problem(file.filename or "upload", None, "",
                    f"the file is larger than {MAX_SCENARIO_BYTES // 1024} KB")
        )  # fmt: skip
    else:
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            text = ""
            problems.append(
                Problem(file.filename or "upload", None, "", "the file is not UTF-8 text (YAML)")
            )
        if not problems:
            name = upload_name(file.filename, text)
            existing = site.workspace.scenarios / f"{name}.yaml"
            if NAME_PATTERN.match(name) and existing.exists() and data.get("replace") != "yes":
                problems.append(
                    Problem(name, None, "name",
                            f"a scenario named {name!r} exists; rename the upload, or tick "
                            "'replace' to overwrite it")
                )  # fmt: skip
            else:
                try:
                    replacing = data.get("replace") == "yes"
                    await run_in_threadpool(site.workspace.save, name, text, not replacing)
                except InputError as error:
                    problems = error.problems
    if problems:
        status = 413 if len(raw) > MAX_SCENARIO_BYTES else 422
        return site.page(
            request, "upload.html", status=status, filename=file.filename or "", problems=problems
        )
    return RedirectResponse(f"/scenarios/{name}?saved=1", status_code=303)


# -- the editor --------------------------------------------------------------------------


def _editor_context(
    site: Site, path: Path, text: str, submitted: dict[str, str] | None
) -> dict[str, Any]:
    """Everything the editor shows of a scenario file and, maybe, submitted form values.

    With ``submitted``, the form's values are written into the file's data and the
    result checked as a file would be; the problems are placed next to their fields.
    """
    ws = site.workspace
    shipped = ws.is_shipped(path)
    problems: list[Problem] = []
    fields: list[forms.Field] = []
    scenario = None
    new_index = -1
    try:
        scenario = ws.load(path)
        fields = forms.scenario_fields(scenario)
    except InputError as error:
        problems = error.problems
    proposed = text
    if submitted is not None and scenario is not None:
        try:
            own = parse_yaml(text, str(path)).data
            changed = forms.apply_form(own, fields, submitted, scenario)
            # Unchanged, the file keeps its own text (and comments); changed, it is rewritten.
            proposed = text if changed == own else forms.to_yaml(changed)
            if forms.new_change(submitted, scenario) is not None:
                new_index = len(changed["changes"]) - 1
            ws.check_text(proposed, path)
            problems = []
        except InputError as error:
            problems = error.problems
        half = forms.half_change(submitted, scenario)
        if half is not None:
            problems = [*problems, half]
    by_field: dict[str, list[str]] = {}
    others: list[Problem] = []
    keys = {f.key for f in fields}
    scales = {f.key: f.scale for f in fields}
    values = {f.key: forms.shown_value(f, submitted) for f in fields}
    kind = forms.change_kind(submitted or {}, scenario) if scenario is not None else None
    for problem, field_key in _census_conflicts(_grouped(problems), scenario):
        if field_key in keys:
            by_field.setdefault(field_key, []).append(problem.message)
            continue
        key = _field_of(problem.field, keys)
        if problem.field == "change":  # the new change, half given
            by_field.setdefault("change", []).append(problem.message)
        elif problem.field.startswith(f"changes[{new_index}]."):
            message = problem.message
            if kind is not None and problem.field.endswith(".to"):
                typed = (submitted or {}).get("change.to", "")
                message = forms.in_form_units(message, kind.scale, typed)
            by_field.setdefault("change", []).append(message)
        elif key is not None:
            message = problem.message
            if key == problem.field:  # the field's own value (in the form's unit)
                message = forms.in_form_units(message, scales[key], values[key])
            by_field.setdefault(key, []).append(message)
        else:
            others.append(problem)
    groups: dict[str, list[forms.Field]] = {}
    details: dict[str, list[forms.Field]] = {}
    for field in fields:
        if field.within:
            details.setdefault(field.within, []).append(field)
        else:
            groups.setdefault(field.group, []).append(field)
    # A unit's tucked-away fields stay open across the checks as typed (the toggle is part
    # of the form), and open by themselves to show a problem.
    shown = {
        key
        for key, tucked in details.items()
        if (submitted or {}).get(f"show.{key}") or any(f.key in by_field for f in tucked)
    }
    library = [name for name in ws.names() if name != path.stem]
    return {
        "name": path.stem,
        "path": ws.relative(path),
        "shipped": shipped,
        "scenario": scenario,
        "groups": groups,
        "details": details,
        "summaries": {key: forms.describe_unit(tucked, values) for key, tucked in details.items()},
        "shown": shown,
        "ticks_marker": forms.TICKS_MARKER,
        "values": values,
        "by_field": by_field,
        "others": others,
        "yaml": proposed,
        "changed": proposed != text,
        "description": (submitted or {}).get(
            "description", scenario.description if scenario else ""
        ),
        "kinds": forms.change_kinds(scenario) if scenario else [],
        "changes": [forms.describe_change(c) for c in scenario.changes] if scenario else [],
        "change": {k: (submitted or {}).get(f"change.{k}", "") for k in ("date", "what", "to")},
        "removed": {
            k for k, v in (submitted or {}).items() if k.startswith("remove_change.") and v
        },
        "library": library,
        "compare_with": _compare_with(text, library),
        "max_replications": MAX_REPLICATIONS,
    }


def _compare_with(text: str, library: list[str]) -> str:
    """The scenario a comparison is offered against first: the one this file extends.

    A copy of an example is most often compared with what it was copied from; failing
    that, the baseline.
    """
    try:
        data = parse_yaml(text, "scenario").data
    except InputError:
        data = None
    parent = data.get("extends") if isinstance(data, dict) else None
    if isinstance(parent, str) and Path(parent).stem in library:
        return Path(parent).stem
    return "baseline"


MAX_LINES_SHOWN = 5
"""The lines of a file listed for a problem found on many lines (a census)."""


def _grouped(problems: list[Problem]) -> list[Problem]:
    """Problems with one message on many lines of a file (a census) as one, with the lines.

    Converting a ward refuses every census patient in it: one line then says so, with
    how many rows, rather than one line a patient.
    """
    lines: dict[tuple[str, str, str], list[int]] = {}
    out: list[Problem] = []
    for problem in problems:
        key = (problem.file, problem.field, problem.message)
        if problem.line is None:
            out.append(problem)
        elif key not in lines:
            lines[key] = [problem.line]
            out.append(problem)
        else:
            lines[key].append(problem.line)
    for i, problem in enumerate(out):
        found = lines.get((problem.file, problem.field, problem.message), [])
        if len(found) > 1:
            shown = ", ".join(map(str, found[:MAX_LINES_SHOWN]))
            more = (
                f" and {len(found) - MAX_LINES_SHOWN} more" if len(found) > MAX_LINES_SHOWN else ""
            )
            out[i] = replace(
                problem,
                line=None,
                message=f"{problem.message} ({len(found)} rows: lines {shown}{more})",
            )
    return out


def _census_conflicts(problems: list[Problem], scenario: Any) -> list[tuple[Problem, str | None]]:
    """Each problem with the unit field it is about, for census patients a unit refuses.

    The census check names the unit first ("Beacon Low Secure does not take sex 'male'"):
    such a problem is shown at the unit's sex or streams, which is what the planner changed.
    """
    if scenario is None:
        return [(p, None) for p in problems]
    out: list[tuple[Problem, str | None]] = []
    for problem in problems:
        key = None
        column = {"sex": "sex", "stream": "streams"}.get(problem.field)
        if column is not None and not problem.field.startswith(("units", "pathways")):
            for i, unit in enumerate(scenario.units):
                if problem.message.startswith(f"{unit.name} does not take "):
                    key = f"units[{i}].{column}"
                    name = Path(problem.file).name
                    problem = replace(
                        problem,
                        message=f"the census ({name}) has patients here on the start date "
                        f"that it would not take: {problem.message}",
                    )
                    break
        out.append((problem, key))
    return out


PATH_STEP = re.compile(r"(\.[^.\[]+|\[\d+\])$")


def _field_of(path: str, keys: set[str]) -> str | None:
    """The form field a problem's path is about: the field itself or one holding it.

    ``units[3].streams[1]`` (one of a unit's streams) is about ``units[3].streams``.
    """
    while path and path not in keys:
        shorter = PATH_STEP.sub("", path)
        if shorter == path:
            return None
        path = shorter
    return path or None


def _scenario_file(site: Site, name: str) -> Path:
    try:
        return site.workspace.scenario_path(name)
    except KeyError:
        raise HTTPException(404, "There is no scenario of that name in the workspace.") from None


async def scenario_page(request: Request) -> Response:
    """The editor: planner's form, the YAML beside it, and the run buttons."""
    site = _site(request)
    path = _scenario_file(site, request.path_params["name"])
    text = path.read_text(encoding="utf-8")
    context = await run_in_threadpool(_editor_context, site, path, text, None)
    return site.page(request, "scenario.html", saved=request.query_params.get("saved"), **context)


async def check_form(request: Request) -> Response:
    """HTMX: the form checked as typed, with problems by their fields (nothing saved)."""
    site = _site(request)
    path = _scenario_file(site, request.path_params["name"])
    form = await _form(request)
    text = path.read_text(encoding="utf-8")
    context = await run_in_threadpool(_editor_context, site, path, text, form)
    return site.page(request, "_editor.html", **context)


async def save_form(request: Request) -> Response:
    """Save the form's values into the planner's scenario file, if they are valid."""
    site = _site(request)
    path = _scenario_file(site, request.path_params["name"])
    if site.workspace.is_shipped(path):
        return site.refusal(request, 403, "Shipped examples are not changed here; make a copy.")
    form = await _form(request)
    text = path.read_text(encoding="utf-8")
    context = await run_in_threadpool(_editor_context, site, path, text, form)
    if context["others"] or context["by_field"] or context["scenario"] is None:
        return site.page(request, "scenario.html", status=422, saved=None, **context)
    await run_in_threadpool(site.workspace.save, path.stem, context["yaml"])
    return RedirectResponse(f"/scenarios/{path.stem}?saved=1", status_code=303)


async def save_yaml(request: Request) -> Response:
    """Save YAML typed in the editor's YAML view, if it is valid."""
    site = _site(request)
    path = _scenario_file(site, request.path_params["name"])
    if site.workspace.is_shipped(path):
        return site.refusal(request, 403, "Shipped examples are not changed here; make a copy.")
    form = await _form(request)
    text = form.get("yaml", "").replace("\r\n", "\n")
    try:
        await run_in_threadpool(site.workspace.save, path.stem, text)
    except InputError as error:
        context = _editor_context(site, path, path.read_text(encoding="utf-8"), None)
        context.update(yaml=text, others=error.problems, by_field={})
        return site.page(request, "scenario.html", status=422, saved=None, **context)
    return RedirectResponse(f"/scenarios/{path.stem}?saved=1", status_code=303)


async def download_scenario(request: Request) -> Response:
    """The scenario file, as stored."""
    site = _site(request)
    path = _scenario_file(site, request.path_params["name"])
    return FileResponse(path, media_type="application/x-yaml", filename=path.name)


async def delete_scenario(request: Request) -> Response:
    """Remove one of the planner's own scenarios."""
    site = _site(request)
    await _form(request)
    try:
        site.workspace.delete(request.path_params["name"])
    except KeyError:
        return site.refusal(request, 404, "There is no scenario of yours by that name.")
    except InputError as error:
        return site.refusal(request, 409, f"Not deleted: {error.problems[0]}.")
    return RedirectResponse("/", status_code=303)


# -- jobs ----------------------------------------------------------------------------------


async def start_job(request: Request) -> Response:
    """Queue a run of a scenario, or its comparison with a base."""
    site = _site(request)
    form = await _form(request)
    path = _scenario_file(site, form.get("scenario", ""))
    paths = [path]
    if form.get("base"):
        base = _scenario_file(site, form["base"])
        if base == path:
            return site.refusal(
                request, 422, "Choose a different scenario to compare with.", path.stem
            )
        paths = [base, path]
    count = form.get("replications", "").strip()
    if not re.fullmatch(r"[0-9]{1,7}", count) or not 1 <= int(count) <= MAX_REPLICATIONS:
        return site.refusal(
            request,
            422,
            f"Replications must be a whole number from 1 to {MAX_REPLICATIONS}.",
            path.stem,
        )
    loaded = []
    for item in paths:
        try:
            loaded.append(await run_in_threadpool(site.workspace.load, item))
        except InputError as error:
            return site.refusal(
                request, 422, f"{item.stem} has problems: {error.problems[0]}", path.stem
            )
    other_period = period_problems(loaded[0], loaded[1:])
    if other_period:  # the alternative (this page's scenario) against the base
        message = other_period[0].message
        return site.refusal(request, 422, f"{path.stem} {message}.", path.stem)
    job = site.store.add(
        [site.workspace.relative(p) for p in paths],
        int(count),
        request.state.user,
        fingerprint(loaded),
    )
    site.runner.wake.set()
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


def _job(site: Site, request: Request) -> Job:
    job = site.store.get(request.path_params["job"])
    if job is None:
        raise HTTPException(404, "There is no job with that link; it may be in another workspace.")
    return job


def _finished_folder(site: Site, job: Job) -> Path:
    if job.state != "finished" or job.folder is None:
        raise HTTPException(404, "This job has no results yet.")
    folder = site.workspace.root / job.folder
    if not site.workspace.inside(folder) or not folder.is_dir():
        raise HTTPException(404, "This job's results folder is no longer in the workspace.")
    return folder


async def job_page(request: Request) -> Response:
    """A job's shareable page: progress while it runs, the results once it has finished."""
    site = _site(request)
    job = _job(site, request)
    report = None
    problem = None
    if job.state == "finished":
        try:
            report = await run_in_threadpool(site.views.content, _finished_folder(site, job))
        except (HTTPException, NotAResultsFolder) as exc:
            problem = str(getattr(exc, "detail", exc))
    position = site.store.position(job) if job.state == "queued" else 0
    return site.page(
        request, "job.html", job=job, report=report, problem=problem, position=position
    )


async def job_progress(request: Request) -> Response:
    """HTMX: the progress bar; tells the page to reload once the job has ended."""
    site = _site(request)
    job = _job(site, request)
    position = site.store.position(job) if job.state == "queued" else 0
    response = site.page(request, "_progress.html", job=job, position=position)
    if not job.active:
        response.headers["HX-Refresh"] = "true"
    return response


async def cancel_job(request: Request) -> Response:
    """Cancel a queued or running job."""
    site = _site(request)
    await _form(request)
    job = _job(site, request)
    site.store.request_cancel(job.id)
    return RedirectResponse(f"/jobs/{job.id}", status_code=303)


async def job_figure(request: Request) -> Response:
    """One figure of a finished job's results, as PNG."""
    site = _site(request)
    folder = _finished_folder(site, _job(site, request))
    report = await run_in_threadpool(site.views.content, folder)
    key = request.path_params["key"]
    for chart in report.charts:
        if chart.key == key:
            return Response(chart.png, media_type="image/png")
    raise HTTPException(404, "There is no figure of that name.")


async def job_report(request: Request) -> Response:
    """The board report, as HTML (shown) or PDF (downloaded)."""
    site = _site(request)
    job = _job(site, request)
    files = await run_in_threadpool(site.views.report_files, _finished_folder(site, job))
    if request.url.path.endswith(".pdf"):
        assert files.pdf is not None
        return FileResponse(files.pdf, media_type="application/pdf",
                            filename=f"{job.names[-1]}-report.pdf")  # fmt: skip
    response = FileResponse(files.html, media_type="text/html")
    response.headers["Content-Security-Policy"] = REPORT_POLICY
    return response


async def job_zip(request: Request) -> Response:
    """The job's results folder as a zip."""
    site = _site(request)
    job = _job(site, request)
    folder = _finished_folder(site, job)
    name = f"{folder.parent.name}-{folder.name}.zip"
    return StreamingResponse(
        zip_folder(folder),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )


async def jobs_page(request: Request) -> Response:
    """Every recent job."""
    site = _site(request)
    return site.page(request, "jobs.html", jobs=site.store.recent(200))


# -- application -------------------------------------------------------------------------


Handler = Callable[[Request], Awaitable[Response]]


def _guarded(handler: Handler, site: Site) -> Handler:
    """A handler behind the user check, with the CSRF token and user on ``request.state``."""

    async def guarded(request: Request) -> Response:
        header = site.settings.user_header
        user = request.headers.get(header, "").strip()[:MAX_USER] if header else ""
        request.state.user = user
        request.state.csrf = request.cookies.get(CSRF_COOKIE) or new_token()
        if header and not user:
            return PlainTextResponse(
                f"Sign in through your organisation's proxy: the {header} header is missing.",
                status_code=401,
            )
        if request.method == "POST" and _too_large(request, MAX_FORM_BYTES):
            return site.refusal(
                request, 413, f"The request is larger than {MAX_FORM_BYTES // 1024} KB."
            )
        try:
            return await handler(request)
        except HTTPException as exc:
            return site.refusal(request, exc.status_code, str(exc.detail))

    return guarded


def create_app(settings: Settings) -> Starlette:
    """The application over a workspace; the job runner starts with it."""
    site = Site(settings)
    routes = [
        ("/", library, ["GET"]),
        ("/scenarios", create_scenario, ["POST"]),
        ("/upload", upload, ["POST"]),
        ("/scenarios/{name}", scenario_page, ["GET"]),
        ("/scenarios/{name}/check", check_form, ["POST"]),
        ("/scenarios/{name}/save", save_form, ["POST"]),
        ("/scenarios/{name}/yaml", save_yaml, ["POST"]),
        ("/scenarios/{name}/download", download_scenario, ["GET"]),
        ("/scenarios/{name}/delete", delete_scenario, ["POST"]),
        ("/jobs", start_job, ["POST"]),
        ("/jobs", jobs_page, ["GET"]),
        ("/jobs/{job}", job_page, ["GET"]),
        ("/jobs/{job}/progress", job_progress, ["GET"]),
        ("/jobs/{job}/cancel", cancel_job, ["POST"]),
        ("/jobs/{job}/figures/{key}.png", job_figure, ["GET"]),
        ("/jobs/{job}/report.html", job_report, ["GET"]),
        ("/jobs/{job}/report.pdf", job_report, ["GET"]),
        ("/jobs/{job}/results.zip", job_zip, ["GET"]),
    ]

    @asynccontextmanager
    async def lifespan(app: Starlette):  # type: ignore[no-untyped-def]
        if settings.run_jobs:
            site.runner.start()
        yield
        if settings.run_jobs:
            site.runner.stop()

    app = Starlette(
        routes=[
            *(Route(p, _guarded(h, site), methods=m) for p, h, m in routes),
            Mount("/static", StaticFiles(directory=STATIC), name="static"),
        ],
        middleware=[Middleware(SecurityHeaders)],
        lifespan=lifespan,
    )
    app.state.site = site
    return app
