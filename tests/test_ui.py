"""The learner's UI, for real: JupyterLab started as `make lab` starts it, driven in Chromium by Playwright.

`make lab` runs ``jupyter lab --notebook-dir=notebooks [--allow-root] notebooks/index.ipynb``. These
tests run the same command with ``--no-browser`` on a free port of 127.0.0.1 with a token, in a
temporary copy of the checkout's ``notebooks/`` (Run All must not autosave outputs into the
checkout), and drive Debian's Chromium (``executable_path``; Playwright's own browser downloads are
not used). They check what a learner sees:

* ``index.ipynb`` opens with the kit's kernel, no dialog, and is not marked modified;
* Run All on ``index.ipynb`` ends with no error output and no stderr box;
* lab 00's preprocessing explorer (run with the cells above it, through the UI) is a live widget
  whose picture redraws when another photo is picked.

They skip only when Chromium or Playwright is missing: `make ui-tools` (run by `make test`) installs
both as root with apt. The browser resolves no host names and the page may load nothing but the
local server. On a failure, a screenshot lands in the test's tmp folder; its path is in the message.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
KERNEL = "edge-lab-kit"
KERNEL_DISPLAY_NAME = "Python 3.11 (Edge Lab Kit)"
SERVER_START_S = 180  # a loaded 2-core machine: JupyterLab's first start can take a minute
KERNEL_READY_MS = 180_000
RUN_ALL_MS = 420_000
WIDGET_MS = 180_000

sync_api = pytest.importorskip(
    "playwright.sync_api",
    reason="Playwright is missing: `make ui-tools` (or pip install -r requirements.txt) installs it",
)
CHROMIUM = next(filter(None, map(shutil.which, ("chromium", "chromium-browser"))), None)
if CHROMIUM is None:
    pytest.skip("Chromium is missing: `make ui-tools` installs Debian's `chromium` as root with apt "
                "(or: apt-get install chromium)", allow_module_level=True)

pytestmark = pytest.mark.slow


@dataclass
class Lab:
    url: str
    token: str
    notebooks: Path
    log: Path
    external_requests: list[str] = field(default_factory=list)

    def log_tail(self, chars: int = 3000) -> str:
        return self.log.read_text(errors="replace")[-chars:] if self.log.exists() else "(no log)"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _get(url: str, token: str) -> int:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # never a proxy, even if set
    request = urllib.request.Request(url, headers={"Authorization": f"token {token}"})
    with opener.open(request, timeout=10) as response:
        return response.status


@pytest.fixture(scope="module")
def lab(tmp_path_factory: pytest.TempPathFactory):
    """JupyterLab as `make lab` starts it (headless, free port, token) on a copy of notebooks/."""
    home = tmp_path_factory.mktemp("ui-lab")
    shutil.copytree(ROOT / "notebooks", home / "notebooks", ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
    port, token = _free_port(), secrets.token_hex(16)
    jupyter = Path(sys.executable).with_name("jupyter")
    command = [str(jupyter) if jupyter.exists() else "jupyter", "lab", "--notebook-dir=notebooks",
               *(["--allow-root"] if os.geteuid() == 0 else []),
               "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
               f"--IdentityProvider.token={token}", "--LabApp.expose_app_in_browser=True",
               f"--LabApp.user_settings_dir={home / 'settings'}", f"--LabApp.workspaces_dir={home / 'workspaces'}"]
    # The learner's own Jupyter/IPython folders stay untouched; kernels come from the venv (`make kernel`).
    env = {**os.environ, "JUPYTER_CONFIG_DIR": str(home / "config"), "JUPYTER_DATA_DIR": str(home / "data"),
           "JUPYTER_RUNTIME_DIR": str(home / "runtime"), "IPYTHONDIR": str(home / "ipython")}
    log = home / "jupyter.log"
    with open(log, "wb") as out:
        server = subprocess.Popen(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    running = Lab(f"http://127.0.0.1:{port}", token, home / "notebooks", log)
    try:
        deadline = time.monotonic() + SERVER_START_S
        while True:
            if server.poll() is not None:
                pytest.fail(f"JupyterLab exited with {server.returncode}: {' '.join(command)}\n{running.log_tail()}")
            with contextlib.suppress(OSError):
                if _get(f"{running.url}/api/kernelspecs", token) == 200:
                    break
            if time.monotonic() > deadline:
                pytest.fail(f"JupyterLab did not answer within {SERVER_START_S} s\n{running.log_tail()}")
            time.sleep(0.5)
        yield running
    finally:
        server.terminate()  # jupyter_server shuts its kernels down on SIGTERM
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, 9)
            server.wait(timeout=30)


@pytest.fixture(scope="module")
def browser(lab: Lab):
    with sync_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(
            executable_path=CHROMIUM,
            # no name resolves: the page can reach 127.0.0.1 (the lab) and nothing else
            args=["--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1", "--no-proxy-server", "--disable-gpu",
                  "--disable-dev-shm-usage"])
        try:
            yield chromium
        finally:
            chromium.close()


@pytest.fixture
def page(browser, lab: Lab):
    context = browser.new_context(viewport={"width": 1500, "height": 1000})
    context.set_default_timeout(60_000)

    def record(request) -> None:
        if not request.url.startswith((lab.url, "data:", "blob:", "about:")):
            lab.external_requests.append(request.url)

    context.on("request", record)
    tab = context.new_page()
    yield tab
    context.close()


@contextlib.contextmanager
def explained(page, lab: Lab, tmp_path: Path, step: str):
    """Turn any failure inside into an AssertionError naming the step, a screenshot and the server log."""
    try:
        yield
    except Exception as exc:
        shot = tmp_path / f"{re.sub(r'[^a-z0-9]+', '-', step.lower()).strip('-')}.png"
        try:
            page.screenshot(path=str(shot), full_page=True)
        except Exception as shot_error:
            shot = f"(no screenshot: {shot_error})"
        raise AssertionError(f"{step}: {exc}\nscreenshot: {shot}\nJupyterLab log (end):\n{lab.log_tail()}") from exc


def open_notebook(page, lab: Lab, name: str) -> None:
    """Open ``name`` as a learner does (a /lab/tree URL), wait for its kernel to be idle."""
    page.goto(f"{lab.url}/lab/tree/{name}?token={lab.token}&reset")
    page.locator(".jp-NotebookPanel:visible").first.wait_for()
    # Ready: its session's kernel is connected and idle (or a dialog asks something: the caller reports it).
    page.wait_for_function("""() => {
        if (document.querySelector('.jp-Dialog')) return true;
        const panel = window.jupyterapp && window.jupyterapp.shell.currentWidget;
        const session = panel && panel.sessionContext;
        const kernel = session && session.session && session.session.kernel;
        return !!kernel && session.isReady && panel.context.isReady && kernel.connectionStatus === 'connected'
            && kernel.status === 'idle';
    }""", timeout=KERNEL_READY_MS, polling=250)


def dialogs(page) -> list[str]:
    return [" ".join(t.split()) for t in page.locator(".jp-Dialog").all_inner_texts()]


def notebook_state(page) -> dict:
    """The open notebook's dirty flag, metadata and kernel, read from JupyterLab's model (for messages)."""
    return page.evaluate("""async () => {
        const panel = window.jupyterapp.shell.currentWidget;
        const model = panel.context.model;
        const kernel = panel.sessionContext.session?.kernel;
        if (kernel) await kernel.info;  // JupyterLab writes language_info once this resolves
        return {dirty: model.dirty, kernel: panel.sessionContext.session?.kernel?.name ?? null,
                metadata: model.toJSON().metadata};
    }""")


def assert_unmodified(page, lab: Lab, name: str, state: dict) -> None:
    """No dirty mark on the notebook's tab; if there is one, say which metadata JupyterLab rewrote."""
    dirty_tabs = page.locator(".lm-DockPanel-tabBar .lm-TabBar-tab.jp-mod-dirty").count()
    stored = nbformat.read(lab.notebooks / name, as_version=4).metadata
    changed = {k: {"stored": stored.get(k), "after opening": v} for k, v in state["metadata"].items()
               if stored.get(k) != v}
    assert dirty_tabs == 0 and not state["dirty"], (
        f"{name} is marked modified; metadata JupyterLab rewrote: {json.dumps(changed)} (the kernel's "
        "language_info must equal the stored one: `make kernel` registers labkit.workshop.kernel, see labkit/workshop/kernel.py)")


def run_menu(page, item: str) -> None:
    """Run → ``item`` from the menu bar, as a learner clicks it."""
    page.locator(".lm-MenuBar-itemLabel", has_text=re.compile(r"^Run$")).click()
    page.locator(".lm-Menu-item:visible .lm-Menu-itemLabel", has_text=re.compile(rf"^{re.escape(item)}$")).click()


# Code cells of the visible notebook up to `last` (-1: all), once the kernel is idle and none is queued:
# "done" when each shows an execution count, "stopped" when one raised (JupyterLab then skips the rest).
_EXECUTION_JS = """([last]) => {
    const panel = document.querySelector('.jp-NotebookPanel:not(.lm-mod-hidden)');
    const cells = [...panel.querySelectorAll('.jp-Notebook .jp-Cell')];
    const code = cells.slice(0, last < 0 ? cells.length : last + 1).filter(c => c.classList.contains('jp-CodeCell')
        && c.querySelector('.jp-InputArea-editor').textContent.trim() !== '');  // empty cells never run
    const prompts = code.map(c => c.querySelector('.jp-InputPrompt').textContent.trim());
    if (!panel.querySelector('.jp-Notebook-ExecutionIndicator[data-status="idle"]') || prompts.includes('[*]:')) {
        return false;
    }
    if (prompts.every(p => /^\\[\\d+\\]:$/.test(p))) return 'done';
    return panel.querySelector('.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"],'
        + '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]') ? 'stopped' : false;
}"""


def wait_for_execution(page, last: int, timeout_ms: int) -> None:
    """Wait until the code cells up to ``last`` ran; fail with the errors shown if the run stopped."""
    outcome = page.wait_for_function(_EXECUTION_JS, arg=[last], timeout=timeout_ms, polling=500).json_value()
    if outcome != "done":
        raise AssertionError(f"the run stopped before every cell ran: {page.evaluate(_EXCEPTIONS_JS)}")


_ERRORS_JS = """() => [...document.querySelectorAll(
        '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"],'
        + '.jp-NotebookPanel:not(.lm-mod-hidden) .jp-OutputArea-output[data-mime-type="application/vnd.jupyter.error"]')]
    .map(o => o.textContent.slice(0, 600))"""

# Exceptions (error outputs) in the visible notebook's model, e.g. "ValueError: ...".
_EXCEPTIONS_JS = """() => {
    const notebook = window.jupyterapp.shell.currentWidget.content;
    const found = [];
    for (const cell of notebook.widgets) {
        if (cell.model.type !== 'code') continue;
        for (let i = 0; i < cell.model.outputs.length; i++) {
            const output = cell.model.outputs.get(i).toJSON();
            if (output.output_type === 'error') found.push(`${output.ename}: ${output.evalue}`);
        }
    }
    return found;
}"""


def test_index_opens_with_the_kits_kernel_unmodified_and_without_a_dialog(page, lab: Lab, tmp_path: Path):
    with explained(page, lab, tmp_path, "open index.ipynb"):
        open_notebook(page, lab, "index.ipynb")
        kernel_name = page.locator(".jp-NotebookPanel:visible .jp-KernelName").first.inner_text().strip()
        assert kernel_name == KERNEL_DISPLAY_NAME, f"the toolbar names kernel {kernel_name!r}"
        state = notebook_state(page)
        assert state["kernel"] == KERNEL, state
        page.wait_for_timeout(3000)  # let late metadata updates and dialogs show up
        assert not dialogs(page), f"a dialog is open: {dialogs(page)}"
        state = notebook_state(page)
    with explained(page, lab, tmp_path, "index.ipynb is marked modified right after opening"):
        assert_unmodified(page, lab, "index.ipynb", state)
    assert not lab.external_requests, f"the page tried to reach the network: {lab.external_requests[:5]}"


def test_run_all_on_index_shows_no_error_output(page, lab: Lab, tmp_path: Path):
    with explained(page, lab, tmp_path, "Run All on index.ipynb"):
        open_notebook(page, lab, "index.ipynb")
        run_menu(page, "Run All Cells")
        wait_for_execution(page, -1, RUN_ALL_MS)
        errors = page.evaluate(_ERRORS_JS)
        assert not errors, f"{len(errors)} error/stderr output(s): {errors}"
        assert not dialogs(page), f"a dialog is open: {dialogs(page)}"
    assert not lab.external_requests, f"the page tried to reach the network: {lab.external_requests[:5]}"


def test_lab00_preprocessing_explorer_is_live_and_redraws(page, lab: Lab, tmp_path: Path):
    source = nbformat.read(lab.notebooks / "00_baseline.ipynb", as_version=4)  # the copy being served
    widget_cell = next((i for i, c in enumerate(source.cells)
                        if c.cell_type == "code" and "preprocessing_explorer(" in c.source), None)
    assert widget_cell is not None, "lab 00 has no cell calling preprocessing_explorer(...)"
    with explained(page, lab, tmp_path, "run lab 00 up to its preprocessing explorer"):
        open_notebook(page, lab, "00_baseline.ipynb")
        notebook_state(page)  # returns once the kernel's info (language_info) has arrived
        page.wait_for_timeout(1000)
        assert not dialogs(page), f"a dialog is open: {dialogs(page)}"
        assert_unmodified(page, lab, "00_baseline.ipynb", notebook_state(page))
        cell = page.locator(".jp-NotebookPanel:visible .jp-Notebook .jp-Cell").nth(widget_cell)
        cell.scroll_into_view_if_needed()
        assert "preprocessing_explorer(" in cell.locator(".jp-InputArea").text_content()
        cell.locator(".jp-InputPrompt").click()  # select the cell (command mode)
        run_menu(page, "Run All Above Selected Cell")
        wait_for_execution(page, widget_cell - 1, WIDGET_MS)
        errors = page.evaluate(_EXCEPTIONS_JS)
        assert not errors, f"cells above the explorer raised: {errors}"
        cell.scroll_into_view_if_needed()
        cell.locator(".jp-InputPrompt").click()
        run_menu(page, "Run Selected Cell")
        wait_for_execution(page, widget_cell, WIDGET_MS)
    with explained(page, lab, tmp_path, "lab 00's explorer is not a live widget"):
        output = cell.locator(".jp-OutputArea")
        picker = output.locator(".widget-dropdown select")
        picture = output.locator("img.widget-image")
        picker.wait_for(timeout=30_000)
        picture.wait_for(timeout=30_000)
        page.wait_for_function("img => img.complete && img.naturalWidth > 0", arg=picture.element_handle())
        status = output.locator(".widget-html").first
        before = {"src": picture.get_attribute("src"), "png": picture.screenshot(), "status": status.inner_text()}
        options = [o for o in picker.locator("option").all_inner_texts() if o.strip()]
        current = picker.input_value()
        other = next(o for o in reversed(options) if o != current)
    with explained(page, lab, tmp_path, f"lab 00's explorer did not redraw after picking {other!r}"):
        picker.select_option(label=other)
        page.wait_for_function("([img, src]) => img.getAttribute('src') !== src && img.complete && img.naturalWidth > 0",
                               arg=[picture.element_handle(), before["src"]], timeout=WIDGET_MS)
        status.filter(has_text=other).wait_for(timeout=30_000)
        after = picture.screenshot()
        assert after != before["png"], "the picture's pixels are the same as before the change"
        errors = page.evaluate(_EXCEPTIONS_JS)
        assert not errors, f"the explorer's cells raised: {errors}"
    assert not lab.external_requests, f"the page tried to reach the network: {lab.external_requests[:5]}"
