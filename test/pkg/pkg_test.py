#!/usr/bin/env python3
"""The manual page, the installed files, the systemd unit and the Debian package.

Usage: pkg_test.py --lbsim BIN --source-dir DIR --build-dir DIR --version X.Y.Z
                   --deb-release N [--cmake CMAKE] [--cpack CPACK] TEST_NAME
Every function named test_* is one ctest entry. Exit 77: skipped (a tool the
test needs is not installed; it says which), unless LBSIM_REQUIRE_TOOLS=1."""

import argparse
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile

ARGS = None
SKIP = 77

# What `cmake --install` puts under the prefix, and the package under /usr
# (with the documentation's pages, pictures and example files: docs_files()).
INSTALLED = [
    "bin/lbsim",
    "share/bash-completion/completions/lbsim",
    "share/doc/lbsim/README.md",
    "share/doc/lbsim/changelog.Debian.gz",
    "share/doc/lbsim/copyright",
    "share/doc/lbsim/examples/lbsim-backends@.service",
    "share/doc/lbsim/examples/lbsim-sweep.sbatch",
    "share/man/man1/lbsim.1.gz",
]


def installed():
    """INSTALLED and docs/ as the source tree has it: beside the README, so that its links work."""
    docs = []
    for d, _, fs in os.walk(source("docs")):
        docs += [os.path.join("share/doc/lbsim", os.path.relpath(os.path.join(d, f), ARGS.source_dir))
                 for f in fs if f.endswith((".md", ".png", ".svg", ".txt"))]
    check(any(f.endswith("docs/reference.md") for f in docs), "no docs/reference.md in %s" % docs)
    return sorted(INSTALLED + docs)

# Lintian tags below error level that the package is known to get, and why.
# Anything else (and any error) fails the test.
LINTIAN_EXPECTED = {
    # Only for uploads to Debian, which close an ITP bug; this package is built
    # from the project's own tree.
    "initial-upload-closes-no-bugs",
    # cmake's strip (strip without options) keeps the compiler's .comment.
    "binary-has-unneeded-section",
    # Hardening flags are the builder's choice (dpkg-buildflags); a plain
    # Release build has neither -D_FORTIFY_SOURCE nor -z now.
    "hardening-no-bindnow",
    "hardening-no-fortify-functions",
}


class Skip(Exception):
    pass


def check(cond, what):
    if not cond:
        raise AssertionError(what)


def need(*tools):
    """Skips the test when a tool is missing, or fails it with LBSIM_REQUIRE_TOOLS=1 (CI)."""
    for tool in tools:
        if shutil.which(tool) is None:
            if os.environ.get("LBSIM_REQUIRE_TOOLS") == "1":
                raise AssertionError("%s is not installed (LBSIM_REQUIRE_TOOLS=1)" % tool)
            raise Skip("%s is not installed" % tool)


def run(cmd, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(cmd, **kw)


def source(*parts):
    return os.path.join(ARGS.source_dir, *parts)


# ---- the manual page, read as roff ---------------------------------------------

def roff_args(text):
    return [m.group(1) if m.group(1) is not None else m.group(2)
            for m in re.finditer(r'"([^"]*)"|(\S+)', text)]


def roff_plain(line):
    """One roff line as the reader sees it (fonts dropped, escapes resolved)."""
    m = re.match(r"^\.(B|I|SM|BR|RB|IR|RI|BI|IB)\s+(.*)$", line)
    if m:
        args = roff_args(m.group(2))
        line = (" " if m.group(1) in ("B", "I", "SM") else "").join(args)
    elif line.startswith("."):
        return ""
    line = re.sub(r"\\f(\[[A-Z]*\]|[A-Z])", "", line)
    for esc, text in (("\\-", "-"), ("\\~", " "), ("\\ ", " "), ("\\&", ""), ("\\(aq", "'"),
                      ("\\(lq", '"'), ("\\(rq", '"'), ("\\(<=", "<="), ("\\(+-", "+-"), ("\\e", "\\"),
                      ("\\%", "")):
        line = line.replace(esc, text)
    return line


def manpage_sections():
    """{section name: [lines]} of src/cli/lbsim.1."""
    sections, name = {}, None
    with open(source("src", "cli", "lbsim.1"), encoding="utf-8") as f:
        for line in f.read().splitlines():
            if line.startswith(".SH "):
                name = " ".join(roff_args(line[4:]))
                sections[name] = []
            elif name:
                sections[name].append(line)
    return sections


def manpage_options():
    """{tag as shown: text of its paragraph} of the OPTIONS section."""
    lines = manpage_sections()["OPTIONS"]
    entries, i = {}, 0
    while i < len(lines):
        if lines[i] == ".TP":
            tag = roff_plain(lines[i + 1]).strip()
            body = []
            i += 2
            while i < len(lines) and not re.match(r"^\.(TP|SS|SH)\b", lines[i]):
                body.append(roff_plain(lines[i]))
                i += 1
            check(tag not in entries, "the manual documents %s twice" % tag)
            entries[tag] = " ".join(" ".join(body).split())
        else:
            i += 1
    return entries


def help_table():
    """{left column of --help: (range or None, default or None)}: the line
    ends with "(RANGE; default: D)", "(RANGE)" or "(default: D)"; a range
    may hold "(0, 1]"."""
    out = run([ARGS.lbsim, "--help"]).stdout
    opts = {}
    for line in out.splitlines():
        m = re.match(r"^  (-\w, --\S+(?: \S+)?|    --\S+(?: \S+)?)(?:\s{2,}(.*))?$", line)
        if not m:
            continue
        rng = default = None
        t = re.search(r" \(((?:\([^()]*\]|[^()])*)\)$", m.group(2) or "")
        if t:
            parts = t.group(1).split("; default: ")
            if parts[0].startswith("default: "):
                default = parts[0][len("default: "):]
            elif ".." in parts[0] or parts[0].startswith("("):
                rng = parts[0]
                default = parts[1] if len(parts) > 1 else None
        opts[m.group(1).strip()] = (rng, default)
    check(len(opts) > 40, "could not read the options of --help:\n" + out)
    return opts


def help_options():
    """{left column of --help: default text or None}."""
    return {opt: default for opt, (rng, default) in help_table().items()}


def test_manpage_documents_every_option_of_help():
    helped, documented = set(help_options()), set(manpage_options())
    missing, extra = sorted(helped - documented), sorted(documented - helped)
    check(not missing and not extra,
          "options in --help but not in lbsim.1: %s; in lbsim.1 but not in --help: %s" % (missing, extra))
    print("%d options, the same in --help and in lbsim.1" % len(helped))


def test_manpage_gives_every_default_of_help():
    documented = manpage_options()
    wrong = []
    for opt, default in help_options().items():
        if default is None:
            continue
        if ("default: %s." % default).lower() not in documented.get(opt, "").lower():
            wrong.append("%s (--help: default %s)" % (opt, default))
    check(not wrong, "lbsim.1 does not say 'Default: X.' as --help does for: " + ", ".join(wrong))


def out_of_range(rng):
    """A value outside a range as --help writes it ("0 or 0.001..86400 s")."""
    m = re.match(r"^(?:0 or )?\(?([0-9.]+)(?:\.\.|, )([0-9.]+)\]?", rng)
    return "%.17g" % (float(m.group(2)) * 10 + 1)


def test_ranges_are_the_same_in_help_the_manual_and_the_errors():
    """Every option that takes a number: its range in --help is the one
    lbsim.1 gives ("Range: R.") and the one its error for a value out of
    it names."""
    documented = manpage_options()
    wrong = []
    checked = 0
    for opt, (rng, default) in help_table().items():
        if rng is None:
            continue
        checked += 1
        if ("Range: %s." % rng) not in documented.get(opt, ""):
            wrong.append("%s: lbsim.1 does not say 'Range: %s.'" % (opt, rng))
        name = re.search(r"--([a-z0-9-]+)", opt).group(1)
        value = out_of_range(rng)
        r = run([ARGS.lbsim, "--" + name, value])
        if r.returncode != 2 or (": " + rng) not in r.stderr or len(r.stderr.splitlines()) != 1:
            wrong.append("%s %s: exit %d, %r does not end with ': %s'" % (opt, value, r.returncode, r.stderr, rng))
    check(checked >= 35, "only %d options with a range in --help" % checked)
    check(not wrong, "\n".join(wrong))
    print("%d ranges, the same in --help, lbsim.1 and the errors" % checked)


def test_manpage_version_is_the_program_version():
    with open(source("src", "cli", "lbsim.1"), encoding="utf-8") as f:
        th = next(l for l in f if l.startswith(".TH "))
    check(roff_args(th)[4] == "lbsim %s" % ARGS.version, "the .TH line names another version: " + th)
    out = run([ARGS.lbsim, "--version"]).stdout
    check(out.startswith("lbsim %s " % ARGS.version), out)


def test_manpage_renders_without_warnings():
    need("groff")
    page = source("src", "cli", "lbsim.1")
    r = run(["groff", "-man", "-Tutf8", "-ww", "-z", page])
    check(r.returncode == 0 and r.stderr == "", "groff -ww: " + r.stderr)
    need("man")
    # As lintian runs it.
    env = dict(os.environ, LC_ALL="C.UTF-8", MANROFFSEQ="", MANWIDTH="80")
    r = run(["man", "--warnings", "-E", "UTF-8", "-l", "-Tutf8", "-Z", page], env=env)
    check(r.returncode == 0 and r.stderr == "", "man --warnings: " + r.stderr)
    r = run(["man", "-l", page], env=dict(env, MAN_KEEP_FORMATTING="0", PAGER="cat"))
    text = re.sub(r".\x08", "", r.stdout)
    check(r.returncode == 0 and "EXIT STATUS" in text and "--backends-only" in text, r.stderr)
    wide = [l for l in text.splitlines() if len(l) > 80]
    check(not wide, "lines wider than 80 columns:\n" + "\n".join(wide))
    for section in ("NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "POLICIES", "OUTPUT", "SCENARIO FILES",
                    "EXIT STATUS", "SIGNALS", "FILES", "EXAMPLES", "SEE ALSO"):
        check(re.search("^%s$" % section, text, re.M), "no %s section" % section)


# ---- installing ---------------------------------------------------------------------

def install(prefix, destdir=None):
    env = dict(os.environ)
    if destdir:
        env["DESTDIR"] = destdir
    r = run([ARGS.cmake, "--install", ARGS.build_dir, "--prefix", prefix], env=env)
    check(r.returncode == 0, "cmake --install failed:\n" + r.stdout + r.stderr)
    root = (destdir or "") + prefix
    files = sorted(os.path.relpath(os.path.join(d, f), root)
                   for d, _, fs in os.walk(root) for f in fs)
    return root, files


def test_install_puts_every_file_in_place():
    with tempfile.TemporaryDirectory() as tmp:
        prefix = os.path.join(tmp, "usr")
        root, files = install(prefix)
        check(files == installed(), "installed %s, expected %s" % (files, installed()))
        r = run([os.path.join(root, "bin/lbsim"), "--version"])
        check(r.returncode == 0 and r.stdout.startswith("lbsim %s" % ARGS.version), r.stdout + r.stderr)
        with gzip.open(os.path.join(root, "share/man/man1/lbsim.1.gz"), "rb") as f:
            check(f.read() == open(source("src", "cli", "lbsim.1"), "rb").read(), "the installed page differs")
        with gzip.open(os.path.join(root, "share/doc/lbsim/changelog.Debian.gz"), "rb") as f:
            check(f.read() == open(source("cmake", "debian", "changelog"), "rb").read(), "changelog differs")
        for gz in ("share/man/man1/lbsim.1.gz", "share/doc/lbsim/changelog.Debian.gz"):
            head = open(os.path.join(root, gz), "rb").read(10)
            # gzip -9n: no file name (FLG bit 3), no time stamp (MTIME 0), best compression (XFL 2).
            check(head[3] & 0x08 == 0 and head[4:8] == b"\0\0\0\0" and head[8] == 2, gz + " is not gzip -9n")
        check(open(os.path.join(root, "share/bash-completion/completions/lbsim")).read()
              == open(source("src", "cli", "lbsim.bash")).read(), "the completion script differs")
        unit = open(os.path.join(root, "share/doc/lbsim/examples/lbsim-backends@.service")).read()
        check("ExecStart=%s/bin/lbsim --backends-only --port-base %%i " % prefix in unit,
              "the unit does not run the installed binary:\n" + unit)
        if shutil.which("man"):
            r = run(["man", "-w", "lbsim"], env=dict(os.environ, MANPATH=os.path.join(root, "share/man")))
            check(r.stdout.strip() == os.path.join(root, "share/man/man1/lbsim.1.gz"), r.stdout + r.stderr)


def test_systemd_unit_verifies():
    # The unit's Documentation=man:lbsim(1) is checked with man.
    need("systemd-analyze", "man")
    with tempfile.TemporaryDirectory() as tmp:
        root, _ = install(os.path.join(tmp, "usr"))
        units = os.path.join(tmp, "units")
        os.mkdir(units)
        shutil.copy(os.path.join(root, "share/doc/lbsim/examples/lbsim-backends@.service"), units)
        env = dict(os.environ, MANPATH=os.path.join(root, "share/man"))
        for instance in ("5001", "8080"):
            unit = os.path.join(units, "lbsim-backends@%s.service" % instance)
            r = run(["systemd-analyze", "verify", unit], env=env)
            print("systemd-analyze verify %s: exit %d %s" % (os.path.basename(unit), r.returncode, r.stderr))
            ours = [l for l in (r.stdout + r.stderr).splitlines() if "lbsim" in l]
            check(r.returncode == 0 and not ours, "systemd-analyze verify:\n" + r.stdout + r.stderr)
        # It can fail: a unit whose command does not exist is refused.
        broken = os.path.join(units, "lbsim-broken@.service")
        with open(broken, "w") as f:
            f.write(open(os.path.join(units, "lbsim-backends@.service")).read()
                    .replace(os.path.join(root, "bin/lbsim"), os.path.join(root, "bin/nothing")))
        r = run(["systemd-analyze", "verify", os.path.join(units, "lbsim-broken@5001.service")], env=env)
        check(r.returncode != 0, "systemd-analyze verify accepts a unit whose command does not exist")


# ---- the Debian package -----------------------------------------------------------

def build_deb(tmp):
    need("dpkg-deb", "dpkg-shlibdeps", "file")
    r = run([ARGS.cpack, "-G", "DEB", "--config", os.path.join(ARGS.build_dir, "CPackConfig.cmake"), "-B", tmp])
    check(r.returncode == 0, "cpack failed:\n" + r.stdout + r.stderr)
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    deb = os.path.join(tmp, "lbsim_%s-%s_%s.deb" % (ARGS.version, ARGS.deb_release, arch))
    check(os.path.exists(deb), "no %s among %s" % (deb, os.listdir(tmp)))
    return deb


def test_deb_package_holds_the_installed_files():
    with tempfile.TemporaryDirectory() as tmp:
        deb = build_deb(tmp)
        field = lambda name: run(["dpkg-deb", "-f", deb, name]).stdout.strip()
        check(field("Package") == "lbsim", field("Package"))
        check(field("Version") == "%s-%s" % (ARGS.version, ARGS.deb_release), field("Version"))
        check(re.search(r"\blibuv1 \(>= [0-9.]+\)", field("Depends")), "Depends: " + field("Depends"))
        check(re.search(r"\blibc6 \(>= [0-9.]+\)", field("Depends")), "Depends: " + field("Depends"))
        check(re.search(r"\blibjansson4 \(>= [0-9.]+\)", field("Depends")), "Depends: " + field("Depends"))
        check(field("Section") and field("Maintainer") and "\n" in field("Description"),
              "Section, Maintainer and a long Description")
        listing = run(["dpkg-deb", "-c", deb]).stdout.splitlines()
        files = sorted(l.split()[-1][len("./usr/"):] for l in listing if l.startswith("-"))
        check(files == installed(), "the package holds %s, cmake --install %s" % (files, installed()))
        check(all(" root/root " in l for l in listing), "owned by root")
        x = os.path.join(tmp, "x")
        run(["dpkg-deb", "-x", deb, x])
        check(", stripped" in run(["file", os.path.join(x, "usr/bin/lbsim")]).stdout, "the binary is not stripped")
        unit = open(os.path.join(x, "usr/share/doc/lbsim/examples/lbsim-backends@.service")).read()
        check("ExecStart=/usr/bin/lbsim " in unit, unit)
        with gzip.open(os.path.join(x, "usr/share/doc/lbsim/changelog.Debian.gz"), "rt") as f:
            top = f.readline()
        check(top.startswith("lbsim (%s-%s) " % (ARGS.version, ARGS.deb_release)),
              "the changelog's latest entry is not this version: " + top)
        check_copyright(open(os.path.join(x, "usr/share/doc/lbsim/copyright")).read())


def check_copyright(text):
    """A machine-readable (DEP-5) copyright file naming what is built in."""
    paragraphs = [p for p in re.split(r"\n\s*\n", text.strip()) if p.strip()]
    fields = []
    for p in paragraphs:
        d, key = {}, None
        for line in p.splitlines():
            if line[:1] in (" ", "\t"):
                check(key, "continuation line first: " + line)
                d[key] += "\n" + line
            else:
                key, _, value = line.partition(":")
                check(_ == ":" and re.fullmatch(r"[A-Za-z-]+", key), "not a field: " + line)
                d[key] = value.strip()
        fields.append(d)
    check(fields[0].get("Format") == "https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
          "Format of the header")
    files = [d for d in fields if "Files" in d]
    check(files and files[0]["Files"] == "*", "the first Files paragraph is *")
    licences = {d["License"].split("\n")[0] for d in fields if "License" in d and "Files" not in d}
    for d in files:
        check("Copyright" in d and "License" in d, "Files: %s needs Copyright and License" % d["Files"])
        name = d["License"].split("\n")[0]
        check(name in licences or "\n" in d["License"], "no text for licence %s" % name)
    check(any("llhttp" in d["Files"] + d.get("Comment", "") for d in files), "llhttp is not named")
    check(any("Chart.js" in d["Files"] + d.get("Comment", "") for d in files), "Chart.js is not named")


def test_lintian_reports_no_errors():
    need("lintian")
    with tempfile.TemporaryDirectory() as tmp:
        deb = build_deb(tmp)
        r = run(["lintian", "--display-info", "--pedantic", "--display-experimental", "--no-tag-display-limit", deb],
                timeout=300)
        print(r.stdout, end="")
        tags = re.findall(r"^([EWIPX]): lbsim(?: \w+)?: (\S+)", r.stdout, re.M)
        errors = [t for k, t in tags if k == "E"]
        unexpected = sorted({t for k, t in tags if k != "E" and t not in LINTIAN_EXPECTED})
        check(r.returncode == 0 and not errors, "lintian errors: %s\n%s" % (errors, r.stderr))
        check(not unexpected, "new lintian tags: %s (fix them, or explain them in LINTIAN_EXPECTED)" % unexpected)
        print("lintian: no errors; %d other tags, all known" % len(tags))


def main():
    global ARGS
    p = argparse.ArgumentParser()
    for opt in ("--lbsim", "--source-dir", "--build-dir", "--version", "--deb-release"):
        p.add_argument(opt, required=True)
    p.add_argument("--cmake", default="cmake")
    p.add_argument("--cpack", default="cpack")
    p.add_argument("name")
    ARGS = p.parse_args()
    fn = globals().get(ARGS.name)
    if fn is None:
        print("no test named %s" % ARGS.name)
        return 2
    try:
        fn()
    except Skip as e:
        print("SKIPPED %s: %s" % (ARGS.name, e))
        return SKIP
    except AssertionError as e:
        print("FAIL %s: %s" % (ARGS.name, e))
        return 1
    print("ok   %s" % ARGS.name)
    return 0


if __name__ == "__main__":
    sys.exit(main())
