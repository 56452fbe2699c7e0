"""The tree checks (scripts/check-layers, scripts/check-format) fail when they should: an
include up the layer order or into another folder's private header, a C file clang-format
would change; they pass on clean input; and the real tree passes both."""
import pathlib
import shutil
import subprocess

ROOT = pathlib.Path(__file__).resolve().parents[2]
CHECK_LAYERS = ROOT / "scripts" / "check-layers"
CHECK_FORMAT = ROOT / "scripts" / "check-format"


def run(*args, timeout=600):
    return subprocess.run([str(a) for a in args], capture_output=True, text=True, timeout=timeout)


def make_tree(base, files):
    """A tree with this repository's docs/architecture.md (the real layer order) and the
    given src/ files (path relative to src/ -> text)."""
    (base / "docs").mkdir(parents=True)
    shutil.copy(ROOT / "docs" / "architecture.md", base / "docs" / "architecture.md")
    for rel, text in files.items():
        path = base / "src" / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return base


CLEAN = {
    "util/log.h": "#pragma once\nvoid log_it(void);\n",
    "util/log.c": '#include "util/log.h"\nvoid log_it(void) {}\n',
    "artifact/artifact_int.h": '#pragma once\n#include "util/log.h"\n',
    "artifact/reader.c": '#include "artifact/artifact_int.h"\n#include <stdio.h>\n',
    "engine/engine.h": '#pragma once\n#include "artifact/artifact_int.h"\n',
    "cli/cli.h": '#pragma once\n#include "engine/engine.h"\n#include "util/log.h"\n',
    "main.c": '#include "cli/cli.h"\nint main(void) { return 0; }\n',
}


def test_check_layers_passes_on_a_clean_tree(tmp_path):
    # engine/engine.h including artifact_int.h is not allowed: leave it out
    files = {k: v for k, v in CLEAN.items() if k != "engine/engine.h"}
    files["engine/engine.h"] = '#pragma once\n#include "util/log.h"\n'
    r = run(CHECK_LAYERS, make_tree(tmp_path, files))
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("check-layers: OK, 7 includes in 7 files follow util < inputs < artifact <")


def test_check_layers_fails_on_an_upward_include(tmp_path):
    files = dict(CLEAN, **{
        "engine/engine.h": '#pragma once\n#include "util/log.h"\n',
        "deploy/prepare.c": '#include <stdio.h>\n\n#include "util/log.h"\n#include "cli/cli.h"\n',
    })
    r = run(CHECK_LAYERS, make_tree(tmp_path, files))
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.splitlines() == [
        "src/deploy/prepare.c:4: includes cli/cli.h (cli is above deploy)",
        "check-layers: 1 problem(s) in 8 files",
    ]


def test_check_layers_fails_on_another_folders_private_header(tmp_path):
    r = run(CHECK_LAYERS, make_tree(tmp_path, CLEAN))
    assert r.returncode == 1, r.stdout + r.stderr
    assert r.stdout.splitlines() == [
        "src/engine/engine.h:2: includes artifact/artifact_int.h (private header of artifact)",
        "check-layers: 1 problem(s) in 7 files",
    ]


def test_check_layers_fails_on_an_unknown_folder(tmp_path):
    files = dict(CLEAN, **{
        "engine/engine.h": '#pragma once\n#include "util/log.h"\n',
        "extra/x.h": "#pragma once\n",
        "util/fs.c": '#include "extra/x.h"\n#include "nowhere.h"\n',
    })
    r = run(CHECK_LAYERS, make_tree(tmp_path, files))
    assert r.returncode == 1, r.stdout + r.stderr
    lines = r.stdout.splitlines()
    assert "src/extra/: folder is not a layer of docs/architecture.md" in lines
    assert "src/util/fs.c:1: includes extra/x.h (extra is not a layer)" in lines
    assert "src/util/fs.c:2: includes nowhere.h (src/ is above util)" in lines


def test_check_layers_on_the_real_tree():
    r = run(CHECK_LAYERS)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout.startswith("check-layers: OK")


FORMATTED = """#include <stdio.h>

static const char *const names[] = { "a", "b" };

int main(void)
{
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (i > 0)
            printf(", ");
        printf("%s", names[i]);
    }
    return 0;
}
"""


def test_check_format_passes_on_a_formatted_file(tmp_path):
    f = tmp_path / "ok.c"
    f.write_text(FORMATTED)
    r = run(CHECK_FORMAT, f)
    assert r.returncode == 0, r.stdout + r.stderr
    assert r.stdout == "check-format: OK, 1 files formatted\n"


def test_check_format_fails_on_a_file_not_formatted(tmp_path):
    ok = tmp_path / "ok.c"
    ok.write_text(FORMATTED)
    bad = tmp_path / "bad.c"
    # a brace on the wrong line, a tab, `char* p`
    bad.write_text(FORMATTED.replace("int main(void)\n{", "int main(void) {")
                   .replace("    return 0;", "\treturn 0;")
                   .replace("const char *const", "const char* const"))
    r = run(CHECK_FORMAT, ok, bad)
    assert r.returncode == 1, r.stdout + r.stderr
    # named relative to the repository when it lies in it (as under CI's build-asan/pytest-tmp/)
    shown = bad.relative_to(ROOT) if bad.is_relative_to(ROOT) else bad
    assert r.stdout.splitlines() == [
        f"not formatted: {shown} (3 lines)",
        "check-format: 1 of 2 files not formatted (clang-format -i FILE formats one)",
    ]
    # -v shows what would change
    r = run(CHECK_FORMAT, "-v", bad)
    assert r.returncode == 1
    assert "-\treturn 0;\n+    return 0;\n" in r.stdout


def test_check_format_on_the_real_tree():
    r = run(CHECK_FORMAT)
    assert r.returncode == 0, r.stdout[-4000:] + r.stderr
    assert r.stdout.startswith("check-format: OK")
