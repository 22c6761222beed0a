"""A headless Chromium driven over the DevTools protocol on a pipe (--remote-debugging-pipe):
the standard library is enough (no websocket client, no Selenium). Used by the report test to
click through Snakemake's HTML report, a JavaScript single-page app, as a user would."""
from __future__ import annotations

import base64
import fcntl
import json
import os
import select
import shutil
import subprocess
import time
from pathlib import Path

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync",
         "--disable-dev-shm-usage", "--window-size=1400,900"]


def find_chromium() -> str | None:
    for name in ("chromium", "chromium-browser", "google-chrome"):
        if shutil.which(name):
            return shutil.which(name)
    return None


class BrowserError(RuntimeError):
    pass


class Chromium:
    """One browser, one page. `evaluate` runs JavaScript in the page (or in a frame's isolated
    world) and returns its value; every wait has a timeout and raises BrowserError with what it
    waited for."""

    def __init__(self, binary: str, user_data_dir, timeout: float = 30.0):
        self.timeout = timeout
        to_chrome_r, self._to_chrome = os.pipe()
        self._from_chrome, from_chrome_w = os.pipe()

        def wire():  # Chromium reads commands on fd 3 and writes replies on fd 4
            a = fcntl.fcntl(to_chrome_r, fcntl.F_DUPFD, 10)
            b = fcntl.fcntl(from_chrome_w, fcntl.F_DUPFD, 10)
            os.dup2(a, 3)
            os.dup2(b, 4)

        Path(user_data_dir).mkdir(parents=True, exist_ok=True)
        self.stderr_path = Path(user_data_dir) / "chromium.stderr"
        self._stderr = open(self.stderr_path, "wb")
        self.proc = subprocess.Popen(
            [binary, *FLAGS, f"--user-data-dir={user_data_dir}", "--remote-debugging-pipe", "about:blank"],
            stdin=subprocess.DEVNULL, stdout=self._stderr, stderr=self._stderr, pass_fds=(3, 4),
            preexec_fn=wire)
        os.close(to_chrome_r)
        os.close(from_chrome_w)
        self._buf, self._events, self._next_id = b"", [], 0
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)["sessionId"]
        self.call("Page.enable", session=self.session)
        self.call("Runtime.enable", session=self.session)

    # -- protocol -------------------------------------------------------------------------
    def _read_message(self, deadline: float) -> dict:
        while b"\0" not in self._buf:
            left = deadline - time.monotonic()
            if left <= 0 or not select.select([self._from_chrome], [], [], left)[0]:
                raise BrowserError("timed out waiting for Chromium")
            chunk = os.read(self._from_chrome, 1 << 20)
            if not chunk:
                raise BrowserError(f"Chromium exited: {self.stderr_path.read_text(errors='replace')[-2000:]}")
            self._buf += chunk
        msg, self._buf = self._buf.split(b"\0", 1)
        return json.loads(msg)

    def call(self, method: str, session: str | None = None, **params):
        self._next_id += 1
        msg = {"id": self._next_id, "method": method, "params": params}
        if session:
            msg["sessionId"] = session
        os.write(self._to_chrome, json.dumps(msg).encode() + b"\0")
        deadline = time.monotonic() + self.timeout
        while True:
            reply = self._read_message(deadline)
            if reply.get("id") == self._next_id:
                if "error" in reply:
                    raise BrowserError(f"{method}: {reply['error']}")
                return reply.get("result", {})
            self._events.append(reply)

    def wait_event(self, method: str) -> dict:
        deadline = time.monotonic() + self.timeout
        while True:
            for i, ev in enumerate(self._events):
                if ev.get("method") == method:
                    return self._events.pop(i)
            self._events.append(self._read_message(deadline))

    # -- page -----------------------------------------------------------------------------
    def open(self, url: str) -> None:
        self.call("Page.navigate", session=self.session, url=url)
        self.wait_event("Page.loadEventFired")

    def evaluate(self, expression: str, context_id: int | None = None):
        params = {"expression": expression, "returnByValue": True, "awaitPromise": True}
        if context_id is not None:
            params["contextId"] = context_id
        res = self.call("Runtime.evaluate", session=self.session, **params)
        if "exceptionDetails" in res:
            raise BrowserError(f"{expression[:200]}: {res['exceptionDetails']}")
        return res["result"].get("value")

    def wait_for(self, expression: str, what: str):
        """Poll a JavaScript expression until it is truthy; return its value."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            value = self.evaluate(expression)
            if value:
                return value
            time.sleep(0.2)
        raise BrowserError(f"timed out after {self.timeout}s waiting for {what}")

    def frame_text(self, url_prefix: str) -> str:
        """innerText of the first child frame whose URL starts with url_prefix (read in an
        isolated world, so it works for the opaque-origin data: iframes of the report)."""
        deadline = time.monotonic() + self.timeout
        while time.monotonic() < deadline:
            tree = self.call("Page.getFrameTree", session=self.session)["frameTree"]
            for child in tree.get("childFrames", []):
                frame = child["frame"]
                if frame.get("url", "").startswith(url_prefix):
                    ctx = self.call("Page.createIsolatedWorld", session=self.session, frameId=frame["id"],
                                    worldName="report-test")["executionContextId"]
                    text = self.evaluate("document.readyState === 'complete' ? document.body.innerText : ''",
                                         context_id=ctx)
                    if text:
                        return text
            time.sleep(0.2)
        raise BrowserError(f"no loaded frame with a URL starting {url_prefix!r}")

    def script_errors(self) -> list[dict]:
        """Uncaught JavaScript exceptions the page reported so far."""
        return [e["params"] for e in self._events if e.get("method") == "Runtime.exceptionThrown"]

    def screenshot(self, path) -> None:
        data = self.call("Page.captureScreenshot", session=self.session, format="png")["data"]
        Path(path).write_bytes(base64.b64decode(data))

    def close(self) -> None:
        try:
            self.call("Browser.close")
        except BrowserError:
            pass
        try:
            self.proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        os.close(self._to_chrome)
        os.close(self._from_chrome)
        self._stderr.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
