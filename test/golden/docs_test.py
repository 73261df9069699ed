#!/usr/bin/env python3
"""The documentation's examples print what it shows.

Usage: docs_test.py LBSIM_BINARY TEST_NAME   one test (ctest runs each test_*)

A transcript is a fenced block of README.md or docs/*.md whose first line
starts with "$ ": commands, each followed by what it prints on stdout. A
command ends with its line unless that ends in a backslash. A transcript
whose lbsim commands all run on the virtual clock (--clock virtual, or a
--sweep) is run, in a scratch directory where build/lbsim is the binary under
test and docs/ the repository's, and must print exactly the lines shown
(trailing blanks aside; a line "..." stands for any number of lines). Any
other transcript runs on sockets and its figures vary: the text just before
it must say "socket run"."""

import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "support"))
from lbsimtest import check, main as run_test  # noqa: E402

ROOT = os.path.normpath(os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", ".."))
LBSIM = None
ELLIPSIS = "..."
# The README's tutorial has six steps, each a transcript; fewer means one was lost.
README_MIN_CHECKED = 6


def markdown_files():
    docs = os.path.join(ROOT, "docs")
    return ["README.md"] + ["docs/" + f for f in sorted(os.listdir(docs)) if f.endswith(".md")]


def transcripts(path):
    """(line number, [(command, [expected lines])], text before the block) per transcript."""
    with open(os.path.join(ROOT, path)) as f:
        lines = f.read().split("\n")
    found = []
    i = 0
    while i < len(lines):
        if not lines[i].lstrip().startswith("```"):
            i += 1
            continue
        indent = len(lines[i]) - len(lines[i].lstrip())  # a block in a list item
        start = i
        i += 1
        body = []
        while i < len(lines) and not lines[i].lstrip().startswith("```"):
            line = lines[i]
            body.append(line[indent:] if line[:indent].strip() == "" else line.lstrip())
            i += 1
        i += 1
        if not body or not body[0].startswith("$ "):
            continue
        steps = []
        k = 0
        while k < len(body):
            if body[k].startswith("$ "):
                cmd = body[k][2:]
                while cmd.endswith("\\") and k + 1 < len(body):
                    k += 1
                    cmd = cmd[:-1] + " " + body[k].strip()
                steps.append((cmd, []))
            else:
                steps[-1][1].append(body[k].rstrip())
            k += 1
        before = " ".join(" ".join(lines[max(0, start - 6):start]).split())  # as read, across line breaks
        found.append((start + 1, steps, before))
    return found


def virtual(cmd):
    """Whether an lbsim command runs on the virtual clock (None: not lbsim)."""
    words = cmd.split()
    if not words or not words[0].endswith("lbsim"):
        return None
    return ("--clock" in words and words[words.index("--clock") + 1] == "virtual") or "--sweep" in words


def checked(steps):
    kinds = [virtual(cmd) for cmd, _ in steps]
    return any(k is True for k in kinds) and all(k is not False for k in kinds)


def matches(want, got):
    """Whether got (lines) is want (lines, "..." standing for any number)."""
    if not want:
        return not got
    if want[0] == ELLIPSIS:
        return any(matches(want[1:], got[k:]) for k in range(len(got) + 1))
    return bool(got) and got[0] == want[0] and matches(want[1:], got[1:])


def run_transcript(path, line, steps, scratch):
    failures = []
    for cmd, want in steps:
        p = subprocess.run(["bash", "-c", cmd], cwd=scratch, capture_output=True, text=True, timeout=120)
        if p.returncode != 0:
            failures.append("%s:%d: `%s` exit %d: %s" % (path, line, cmd, p.returncode, p.stderr[-500:]))
            continue
        got = [l.rstrip() for l in p.stdout.split("\n")]
        while got and got[-1] == "" and (not want or want[-1] != ""):
            got.pop()
        # A shown block may leave off the trailing blank lines, never others.
        while want and want[-1] == "":
            want = want[:-1]
        if not matches(want, got):
            failures.append("%s:%d: `%s` printed something else:\n--- shown\n%s\n--- printed\n%s" %
                            (path, line, cmd, "\n".join(want), "\n".join(got)))
    return failures


def check_file(path, min_checked=1):
    found = transcripts(path)
    runs = [t for t in found if checked(t[1])]
    check(len(runs) >= min_checked, "%s: %d transcripts on the virtual clock, expected at least %d" %
          (path, len(runs), min_checked))
    failures = []
    with tempfile.TemporaryDirectory() as scratch:
        os.mkdir(os.path.join(scratch, "build"))
        os.symlink(os.path.abspath(LBSIM), os.path.join(scratch, "build", "lbsim"))
        os.symlink(os.path.join(ROOT, "docs"), os.path.join(scratch, "docs"))
        for line, steps, _ in runs:
            failures += run_transcript(path, line, steps, scratch)
    check(not failures, "\n\n".join(failures))


# ---- tests -------------------------------------------------------------------

def test_readme_tutorial_prints_as_shown():
    check_file("README.md", README_MIN_CHECKED)


def test_tutorial_prints_as_shown():
    check_file("docs/tutorial.md")


def test_reference_prints_as_shown():
    check_file("docs/reference.md")


def test_virtual_clock_page_prints_as_shown():
    check_file("docs/virtual-clock.md")


# The pages with a test of their own above; every other page's virtual
# transcripts are checked by the next test.
PAGES_OF_THEIR_OWN = ["README.md", "docs/tutorial.md", "docs/reference.md", "docs/virtual-clock.md"]


def test_every_other_page_prints_as_shown():
    for path in markdown_files():
        if path not in PAGES_OF_THEIR_OWN and any(checked(t[1]) for t in transcripts(path)):
            check_file(path)


def test_every_other_transcript_says_it_is_a_socket_run():
    unmarked = []
    for path in markdown_files():
        for line, steps, before in transcripts(path):
            if not checked(steps) and "socket run" not in before.lower():
                unmarked.append("%s:%d: `%s`" % (path, line, steps[0][0]))
    check(not unmarked, "transcripts neither on the virtual clock nor said to be socket runs (figures vary):\n" +
          "\n".join(unmarked))


def slug(heading):
    """The anchor a heading gets where Markdown is shown (GitHub's rule)."""
    return re.sub(r"[^\w\- ]", "", heading.strip().lower()).replace(" ", "-")


def anchors(path):
    with open(os.path.join(ROOT, path)) as f:
        text = re.sub(r"(?ms)^```.*?^```", "", f.read())
    return {slug(h) for h in re.findall(r"(?m)^#+ (.*)$", text)}


def test_links_stay_in_the_repository_and_lead_somewhere():
    broken = []
    for path in markdown_files():
        with open(os.path.join(ROOT, path)) as f:
            text = re.sub(r"(?ms)^\s*```.*?^\s*```", "", f.read())
        for target in re.findall(r"\]\(([^)\s]+)\)", text):
            if re.match(r"[a-z]+:", target):
                broken.append("%s: %s leads outside the repository" % (path, target))
                continue
            file, _, anchor = target.partition("#")
            dest = os.path.normpath(os.path.join(os.path.dirname(path), file)) if file else path
            if not os.path.exists(os.path.join(ROOT, dest)):
                broken.append("%s: %s: no such file" % (path, target))
            elif anchor and dest.endswith(".md") and anchor not in anchors(dest):
                broken.append("%s: %s: no such heading in %s" % (path, target, dest))
    check(not broken, "\n".join(broken))


def test_the_architecture_page_names_every_source_file():
    """docs/architecture.md describes the tree as it is: every C file under
    src/ is named there (by its name without the extension)."""
    with open(os.path.join(ROOT, "docs", "architecture.md")) as f:
        page = f.read()
    unnamed = []
    for folder, _, files in os.walk(os.path.join(ROOT, "src")):
        for name in files:
            stem, ext = os.path.splitext(name)
            if ext in (".c", ".h") and not re.search(r"\b%s\b" % re.escape(stem), page):
                unnamed.append(os.path.relpath(os.path.join(folder, name), ROOT))
    check(not unnamed, "docs/architecture.md does not name: " + ", ".join(sorted(unnamed)))


def test_the_check_sees_a_changed_figure():
    want = ["", "=== Run Summary ===", ELLIPSIS, "latency: mean=10.10 ms"]
    got = ["", "=== Run Summary ===", "requests=8", "x", "latency: mean=10.10 ms"]
    check(matches(want, got), "an ellipsis must stand for lines")
    check(not matches(want, got[:-1] + ["latency: mean=10.11 ms"]), "a changed figure went unseen")
    check(not matches(want[:2], got), "lines left off at the end went unseen")
    check(checked([("./build/lbsim --clock virtual --rounds 1", [])]), "a virtual run is checked")
    check(not checked([("./build/lbsim --rounds 1", [])]), "a socket run is not")
    check(checked([("cat docs/examples/step.txt", []), ("./build/lbsim --sweep alpha=0.1 --rounds 1", [])]),
          "a sweep is virtual")


if __name__ == "__main__":
    sys.exit(run_test(globals()))
