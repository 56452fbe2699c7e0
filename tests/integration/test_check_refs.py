"""scripts/check-refs: a comment or document naming a file that is not in the repository
fails the check, naming it; placeholders, URLs and paths inside other paths are no
references; the repository itself passes."""
import os
import pathlib
import subprocess

import pytest

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK_REFS = ROOT / "scripts" / "check-refs"

# Spelled in two parts so that this file names no missing file itself.
MISSING_DOC = "docs/" + "missing.md"
MISSING_SRC = "src/" + "gone.c"
MISSING_SPEC = "spec-" + "only.md"


def run(path, env=None):
    return subprocess.run([str(CHECK_REFS), str(path)], capture_output=True, text=True, timeout=120, env=env)


def make_repo(tmp_path, files):
    repo = tmp_path / "repo"
    for rel, text in files.items():
        p = repo / rel
        p.parent.mkdir(parents=True, exist_ok=True)
        p.write_text(text)
    subprocess.run(["git", "init", "-q", str(repo)], check=True)
    subprocess.run(["git", "-C", str(repo), "add", "-A"], check=True)
    return repo


GOOD = {
    "README.md": "See [the protocol](docs/protocol.md) and `src/iface/runner.c`; tests in tests/.\n"
                 "Placeholders: `tests/integration/test_*.py`, `bench/results/<date>/`, `{data}/interfaces/v1/x`.\n"
                 "Not ours: /usr/share/doc/demo/notes.md, build/tests/tools/driver, https://example.com/docs/x.md.\n",
    "docs/protocol.md": "Back to [the README](../README.md); see also `state.md` and docs/state.md.\n",
    "docs/state.md": "# State\n",
    "src/iface/runner.c": "/* Calls Interfaces (docs/protocol.md). */\n"
                          "static const char *s = \"" + MISSING_SRC + "\";   /* code is not checked */\n"
                          "int main(void) { return h.md; } // the protocol: docs/protocol.md\n",
    "tests/t.py": '"""Docstring naming docs/state.md."""\nX = "' + MISSING_DOC + '"  # code again\n',
    "tests/run.sh": "#!/bin/sh\n# runs src/iface/runner.c checks\ncat " + MISSING_SRC + "\n",
}


def test_no_dangling_reference_passes(tmp_path):
    r = run(make_repo(tmp_path, GOOD))
    assert (r.returncode, r.stdout, r.stderr) == (0, "", "")


@pytest.mark.parametrize("rel, line", [
    ("README.md", f"Details in {MISSING_DOC}."),
    ("docs/protocol.md", f"As [the spec]({MISSING_SPEC}) says."),
    ("src/iface/runner.c", f"/* See {MISSING_SPEC} §4.2 and {MISSING_SRC}. */"),
    ("tests/t.py", f"# the old {MISSING_SRC}"),
    ("tests/run.sh", f"# see {MISSING_DOC}"),
])
def test_a_dangling_reference_fails_naming_it(tmp_path, rel, line):
    files = dict(GOOD)
    files[rel] = files[rel] + line + "\n"
    lineno = files[rel].count("\n")
    r = run(make_repo(tmp_path, files))
    assert r.returncode == 1, r
    wanted = [ref for ref in (MISSING_DOC, MISSING_SPEC, MISSING_SRC) if ref in line]
    assert r.stdout.splitlines() == [f"{rel}:{lineno}: {ref}" for ref in wanted]
    assert f"{len(wanted)} reference(s) to files that are not in the repository" in r.stderr


def test_a_file_git_does_not_track_is_not_a_reference_target(tmp_path):
    repo = make_repo(tmp_path, GOOD)
    (repo / "docs" / "state.md").unlink()
    subprocess.run(["git", "-C", str(repo), "rm", "-q", "--cached", "docs/state.md"], check=True)
    r = run(repo)
    assert r.returncode == 1
    assert r.stdout.splitlines() == ["docs/protocol.md:1: state.md", "docs/protocol.md:1: docs/state.md",
                                     "tests/t.py:1: docs/state.md"]


def test_outside_a_repository(tmp_path):
    # pytest's temporary folder may lie inside this repository (CI puts it under build-asan/):
    # git must not look above it
    env = dict(os.environ, GIT_CEILING_DIRECTORIES=str(tmp_path.parent))
    r = run(tmp_path, env)
    assert r.returncode == 2
    assert "not in a git repository" in r.stderr


def test_the_repository_names_only_files_it_has():
    r = run(ROOT)
    assert r.returncode == 0, r.stdout + r.stderr
