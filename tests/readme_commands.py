"""The README's code blocks and the commands in them, for the tests that run them as written
(tests/test_readme.py, test_resume.py, test_workflow.py)."""
import re
import shlex
from pathlib import Path

README = (Path(__file__).resolve().parents[1] / "README.md").read_text()


def code_blocks(text: str, lang: str) -> list[str]:
    return re.findall(rf"^```{lang}\n(.*?)^```", text, re.M | re.S)


def readme_commands(text: str = README) -> list[str]:
    """Every command step (each `&&` part of a line) of the bash blocks of `text`, comments stripped."""
    steps = []
    for block in code_blocks(text, "bash"):
        for line in block.replace("\\\n", " ").splitlines():
            words = shlex.split(line, comments=True)
            if words:
                steps += " ".join(shlex.quote(w) for w in words).split(" '&&' ")
    return steps


def report_command() -> list[str]:
    """The README's `snakemake --report …` command, as words (the browser test runs it)."""
    (step,) = [s for s in readme_commands() if s.startswith("snakemake") and "--report" in s.split()]
    return shlex.split(step)
