#!/usr/bin/env python3
"""Build android-api-29.jar: compile-only Java stubs of the public Android API level 29.

Usage: ``python3 android_api.py --cache DIR``; the last stdout line is the jar's absolute
path (``DIR/android-api-29.jar``).  A jar stamped with this script's sha256 is reused as is.

The API is AOSP's ``api/current.txt`` (frameworks/base of Android 10), read from Debian's
source package android-platform-frameworks-base: ``apt-get source --download-only`` runs
with a private sources list (this machine's own apt sources rewritten as deb-src) and
private lists/cache directories, so the machine's apt state is not touched.  Stubs are
generated for every package the JDK's ``--release 8`` platform does not provide, compiled
with javac and zipped.  Errors exit 2 with one line saying what to do.  Stdlib only.
"""
from __future__ import annotations

import argparse
import fcntl
import glob
import hashlib
import lzma
import os
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
import zipfile
from dataclasses import dataclass, field, replace
from pathlib import Path

SRC_PKG, EXPECT_VERSION, MEMBER = "android-platform-frameworks-base", "1:10.0.0", "api/current.txt"
JAR, CURRENT, STAMP = "android-api-29.jar", "current.txt", "android-api-29.jar.stamp"
MARK = "android.internal_stubs.Marker"  # argument type of the hidden constructor subclasses call
HIDDEN_ARGS = f"(({MARK}) null, 0L, ({MARK}) null, 0L)"
STUB = '{ throw new RuntimeException("Stub!"); }'
PRIMS = {"boolean", "byte", "char", "short", "int", "long", "float", "double", "void"}
KINDS = ("class", "interface", "enum", "@interface")
ID = re.compile(r"[A-Za-z_$][\w$]*(?:\.[A-Za-z_$][\w$]*)*")


class Fail(Exception):
    """An error the user must act on; printed as one line, exit status 2."""


@dataclass
class Member:
    """One member line of the signature file (kind: ctor, method, field, enum_constant)."""
    kind: str
    key: str  # identifies the member when javac rejects it
    deprecated: bool
    mods: list[str] = field(default_factory=list)
    name: str = ""
    tparams: str = ""
    type: str = ""
    params: list[str] = field(default_factory=list)
    throws: list[str] = field(default_factory=list)
    value: str = ""  # constant value of a field, default of an annotation element


@dataclass
class Cls:
    """One class, interface, enum or annotation type; nested types sit in `children`."""
    pkg: str
    name: str  # dotted inside the package: Outer.Inner
    kind: str
    mods: list[str]
    tparams: str
    tvars: set[str]
    extends: list[str]
    implements: list[str]
    deprecated: bool
    members: list[Member] = field(default_factory=list)
    children: list[Cls] = field(default_factory=list)

    @property
    def fqn(self) -> str:
        return f"{self.pkg}.{self.name}"


def need(tool: str, hint: str) -> str:
    """Path of `tool` on PATH, or Fail with `hint`."""
    if not (path := shutil.which(tool)):
        raise Fail(f"{tool} not found: {hint}")
    return path


def deb_src_sources() -> str:
    """This machine's enabled apt 'deb' sources, rewritten as deb822 'deb-src' paragraphs."""
    paras: list[str] = []
    for f in sorted(glob.glob("/etc/apt/sources.list.d/*.sources")):
        for block in re.split(r"\n\s*\n", Path(f).read_text()):
            lines = [ln for ln in block.splitlines() if ln.strip() and not ln.lstrip().startswith("#")]
            head = {ln.split(":", 1)[0].lower(): ln.split(":", 1)[-1].strip() for ln in lines if not ln[0].isspace()}
            if "uris" in head and "deb" in head.get("types", "").split() and head.get("enabled") != "no":
                paras.append("\n".join("Types: deb-src" if ln.lower().startswith("types:") else ln for ln in lines))
    for f in ["/etc/apt/sources.list", *sorted(glob.glob("/etc/apt/sources.list.d/*.list"))]:
        for line in Path(f).read_text().splitlines() if os.path.isfile(f) else []:
            if m := re.match(r"\s*deb\s+(?:\[([^\]]*)\]\s+)?(\S+)\s+(\S+)\s*([^#]*)", line):
                opts = dict(o.split("=", 1) for o in (m.group(1) or "").split() if "=" in o)
                extra = "".join(f"\n{k.title()}: {v}" for k, v in opts.items() if k in ("signed-by", "trusted"))
                paras.append(f"Types: deb-src\nURIs: {m[2]}\nSuites: {m[3]}\nComponents: {m[4].strip()}{extra}")
    if not paras:
        raise Fail(f"no enabled 'deb' source in /etc/apt: configure apt, or put {MEMBER} in the cache as {CURRENT}")
    return "\n\n".join(paras) + "\n"


def fetch_current_txt(dest: Path) -> str:
    """Download the Debian source package privately and save its api/current.txt at `dest`.

    Returns the Debian version of the source package."""
    need("apt-get", f"use a Debian machine or put {MEMBER} in the cache as {CURRENT}")
    with tempfile.TemporaryDirectory(prefix="android-api-") as tmp:
        t = Path(tmp)
        (t / "deb-src.sources").write_text(deb_src_sources())
        for d in ("parts", "lists/partial", "cache/archives/partial", "dl"):
            (t / d).mkdir(parents=True)
        opts = [f"-oDir::Etc::SourceList={t}/deb-src.sources", f"-oDir::Etc::SourceParts={t}/parts",
                f"-oDir::State::Lists={t}/lists", f"-oDir::Cache={t}/cache", "-oAPT::Sandbox::User=root", "-qq"]
        upd = subprocess.run(["apt-get", *opts, "update"], capture_output=True, text=True)
        src = subprocess.run(["apt-get", *opts, "source", "--download-only", SRC_PKG],
                             cwd=t / "dl", capture_output=True, text=True)
        dsc, origs = sorted((t / "dl").glob("*.dsc")), sorted((t / "dl").glob("*.orig.tar.*"))
        if src.returncode or not dsc or not origs:
            why = (src.stderr.strip() or upd.stderr.strip() or "no files").splitlines()[-1]
            raise Fail(f"apt-get source {SRC_PKG} failed ({why}): check network and deb-src availability")
        version = re.search(r"^Version:\s*(\S+)", dsc[0].read_text(errors="replace"), re.M)[1]
        if not version.startswith(EXPECT_VERSION):
            raise Fail(f"{SRC_PKG} {version} is not Android 10 = API 29 ({EXPECT_VERSION}*): use Debian 12 sources")
        raw = lzma.open(origs[0]) if origs[0].suffix == ".xz" else open(origs[0], "rb")
        with raw, tarfile.open(fileobj=raw, mode="r|*") as tar:  # streamed; stops at the member
            data = next((tar.extractfile(m).read() for m in tar if m.name.removeprefix("./") == MEMBER), None)
        if data is None:
            raise Fail(f"{MEMBER} missing from {origs[0].name}: unexpected source package layout")
    dest.with_suffix(".part").write_bytes(data)
    dest.with_suffix(".part").replace(dest)
    (dest.parent / f"{CURRENT}.source").write_text(f"{SRC_PKG} {version} {MEMBER}\n")
    return version


def clean_line(s: str) -> tuple[str, bool]:
    """Drop @Annotations (and their arguments) and what follows the closing ';' outside
    string/char literals; also report whether @Deprecated was among them."""
    out, i, dep, n = [], 0, False, len(s)

    def skip_literal(i: int) -> int:
        j = i + 1
        while j < n and s[j] != s[i]:
            j += 2 if s[j] == "\\" else 1
        return j + 1

    while i < n:
        c = s[i]
        if c in "\"'":
            j = skip_literal(i)
            out.append(s[i:j])
            i = j
        elif c == ";":
            break
        elif c == "@" and not s.startswith("@interface", i):
            m = ID.match(s, i + 1)
            dep |= m[0] in ("Deprecated", "java.lang.Deprecated")
            i, depth = m.end(), 0
            while i < n and (depth or s[i] == "("):
                if s[i] in "\"'":
                    i = skip_literal(i)
                    continue
                depth += {"(": 1, ")": -1}.get(s[i], 0)
                i += 1
            while i < n and s[i] == " ":
                i += 1
        else:
            out.append(c)
            i += 1
    return "".join(out).strip(), dep


def split_top(s: str, sep: str) -> list[str]:
    """Split `s` on `sep` outside <...>, dropping empty pieces."""
    parts, depth, cur = [], 0, []
    for c in s:
        depth += {"<": 1, ">": -1}.get(c, 0)
        if c == sep and depth == 0:
            parts.append("".join(cur))
            cur = []
        else:
            cur.append(c)
    return [p.strip() for p in parts + ["".join(cur)] if p.strip()]


def tparam_names(tparams: str) -> set[str]:
    """Type variables declared by a '<A extends B, C>' clause."""
    return {p.split()[0] for p in split_top(tparams[1:-1], ",")} if tparams else set()


def qualify(t: str, tvars: set[str]) -> str:
    """Qualify bare class names (java.lang.* in format 2.0) so no stub class can shadow them."""
    keep = PRIMS | tvars | {"extends", "super"}
    return ID.sub(lambda m: m[0] if "." in m[0] or m[0] in keep else "java.lang." + m[0], t)


def parse_member(cur: Cls, line: str, body: str, dep: bool) -> Member:
    """Parse one 'ctor/method/field/enum_constant ...' line (annotations already removed)."""
    kind, rest = body.split(" ", 1)
    m = Member(kind, f"{cur.fqn}|{line}", dep)
    if kind in ("field", "enum_constant"):
        decl, _, m.value = rest.partition(" = ")
        *m.mods, m.type, m.name = split_top(decl, " ")
        return m
    op, cp = rest.index("("), rest.index(")")
    *toks, m.name = split_top(rest[:op], " ")
    m.params = split_top(rest[op + 1:cp], ",")
    tail = rest[cp + 1:].strip()
    if tail.startswith("throws "):
        thr, _, m.value = tail[7:].partition(" default ")
        m.throws = [x.strip() for x in thr.split(",")]
    elif tail.startswith("default "):
        m.value = tail[8:]
    if kind == "method":
        *toks, m.type = toks
    if toks and toks[-1].startswith("<"):
        *toks, m.tparams = toks
    m.mods = toks
    return m


def parse_signature(text: str) -> list[Cls]:
    """Parse an AOSP signature file (format 2.0); returns top-level classes, nested ones inside."""
    classes: list[Cls] = []
    pkg, cur = "", None
    for line in map(str.strip, text.splitlines()):
        if not line or line.startswith("//") or line == "}":
            continue
        if line.startswith("package "):
            pkg = line.split()[1]
            continue
        body, dep = clean_line(line)
        if not body.endswith("{"):
            cur.members.append(parse_member(cur, line, body, dep))
            continue
        toks = split_top(body[:-1], " ")
        k = next(i for i, tk in enumerate(toks) if tk in KINDS)
        name, lt, tp = toks[k + 1].partition("<")
        lists: dict[str, list[str]] = {"extends": [], "implements": []}
        mode = "extends"
        for tk in toks[k + 2:]:
            if tk in lists:
                mode = tk
            else:
                lists[mode].append(tk)
        tp = lt + tp
        cur = Cls(pkg, name, toks[k], toks[:k], tp, tparam_names(tp), lists["extends"], lists["implements"], dep)
        classes.append(cur)
    by_name, tops = {c.fqn: c for c in classes}, []
    for c in classes:
        outer = by_name.get(c.fqn.rsplit(".", 1)[0]) if "." in c.name else None
        (outer.children if outer else tops).append(c)
        c.tvars |= outer.tvars if outer else set()
    return tops


def jdk_packages(javac: str) -> set[str]:
    """Packages of the JDK's `--release 8` platform, read from its lib/ct.sym."""
    ct = Path(os.path.realpath(javac)).parent.parent / "lib" / "ct.sym"
    if not ct.is_file():
        raise Fail(f"{ct} not found: install a full JDK >= 11 (apt-get install openjdk-17-jdk-headless)")
    with zipfile.ZipFile(ct) as z:
        return {".".join(n.split("/")[2:-1]) for n in z.namelist() if "8" in n.split("/")[0] and n.endswith(".sig")}


class Emitter:
    """Renders one top-level class as Java source, one member per line, and remembers
    which member each line holds (so javac's complaints can be traced back)."""

    def __init__(self, index: dict[str, Cls], generated: set[str], dropped: set[str]):
        self.index, self.generated, self.dropped = index, generated, dropped
        self.lines: list[str] = []
        self.keys: list[str] = []

    def put(self, text: str, key: str = "") -> None:
        self.lines.append(text)
        self.keys.append(key)

    def supers(self, c: Cls) -> list[Cls]:
        """Direct supertypes of `c` that are generated here (superclass first)."""
        names = [qualify(t, c.tvars).split("<")[0] for t in c.extends + c.implements]
        return [self.index[n] for n in names if n in self.generated]

    def super_call(self, c: Cls) -> str:
        """The explicit super(...) call that every constructor of `c` starts with."""
        sup = qualify(c.extends[0], c.tvars).split("<")[0] if c.extends else "java.lang.Object"
        if sup in self.generated:
            return f"super{HIDDEN_ARGS};"
        s = self.index.get(sup)  # a JDK class: pick one of its constructors listed in current.txt
        ctors = [m for m in (s.members if s else []) if m.kind == "ctor" and "private" not in m.mods]
        if not ctors or any(not m.params for m in ctors):
            return "super();"
        m, args = min(ctors, key=lambda m: (len(m.throws), len(m.params))), []
        tv = s.tvars | tparam_names(m.tparams)
        for p in m.params:  # erased casts pick exactly this constructor
            t = re.sub(r"<[^<>]*>", "", re.sub(r"<[^<>]*>", "", qualify(p.replace("...", "[]"), tv)))
            args.append(("false" if t == "boolean" else f"({t}) 0") if t in PRIMS else
                        "null" if t in tv else f"({t}) null")
        return f"super({', '.join(args)});"

    def fixups(self, c: Cls) -> list[Member]:
        """Methods the signature file elides but javac needs: bodies for abstract methods a
        concrete class inherits, and re-abstraction where a default and an abstract clash."""
        def sig(m: Member, k: Cls) -> tuple:
            return (m.name, tuple(qualify(p, k.tvars) for p in m.params))

        done, extra = {sig(m, c) for m in c.members if m.kind == "method"}, []
        if c.kind == "class" and "abstract" not in c.mods:
            k = c
            while (ks := self.supers(k)) and k.extends and ks[0].kind == "class":
                k = ks[0]
                for m in k.members:
                    if m.kind == "method" and sig(m, k) not in done:
                        done.add(sig(m, k))
                        if "abstract" in m.mods:
                            mods = [x for x in m.mods if x != "abstract"]
                            extra.append(replace(m, mods=mods, key=f"{c.fqn}|+{m.key}"))
        elif c.kind == "interface" and len(c.extends) > 1:
            seen: dict[tuple, list[Member]] = {}
            todo = self.supers(c)
            while todo:
                k = todo.pop()
                todo += self.supers(k)
                for m in k.members:
                    if m.kind == "method" and "static" not in m.mods:
                        seen.setdefault(sig(m, k), []).append(m)
            for key, ms in seen.items():
                if key not in done and len({"default" in m.mods for m in ms}) == 2:
                    m = next(m for m in ms if "default" not in m.mods)
                    extra.append(replace(m, key=f"{c.fqn}|+{m.key}"))
        return extra

    def member(self, c: Cls, m: Member, ind: str) -> None:
        """Emit one member on one line, unless javac rejected it in an earlier round."""
        if m.key in self.dropped or m.kind == "enum_constant":
            return
        tv, tparams = c.tvars | tparam_names(m.tparams), m.tparams
        free = sorted({w for t in m.params + [m.type] for w in re.findall(r"(?<![\w.$])[A-Z]\b", t)} - tv)
        if free and m.kind != "field":  # a type variable the file forgot to declare (metalava slip)
            tparams, tv = f"<{', '.join(free + ([tparams[1:-1]] if tparams else []))}>", tv | set(free)

        def q(t: str) -> str:
            return qualify(t, tv)

        mods = [x for x in m.mods if x not in ("native", "synchronized", "strictfp")]
        dep = "@Deprecated " if m.deprecated else ""
        if m.kind == "field":
            val = {"NaN": "NaN", "Infinity": "POSITIVE_INFINITY", "-Infinity": "NEGATIVE_INFINITY"}.get(m.value)
            val = f"{'Float' if m.type == 'float' else 'Double'}.{val}" if val else m.value
            if not val and ("final" in mods or c.kind in ("interface", "@interface")):
                val = f"{MARK}.v()"  # not a compile-time constant, like the real non-constant field
            self.put(f"{ind}{dep}{' '.join(mods + [q(m.type), m.name])}{' = ' + val if val else ''};", m.key)
            return
        params = ", ".join(f"{q(p)} p{i}" for i, p in enumerate(m.params))
        throws = f" throws {', '.join(map(q, m.throws))}" if m.throws else ""
        tp = q(tparams) + " " if tparams else ""
        if m.kind == "ctor":
            head = " ".join(mods + [tp + c.name.split(".")[-1]])
            self.put(f"{ind}{dep}{head}({params}){throws} {{ {self.super_call(c)} {STUB[2:]}", m.key)
            return
        if c.kind == "enum" and "static" in mods and (m.name, len(m.params)) in (("values", 0), ("valueOf", 1)):
            return  # implicit in every enum
        body = STUB
        if c.kind == "@interface":
            mods, body = [], (f"default {m.value};" if m.value else ";")
        elif c.kind == "interface":
            body = STUB if "default" in mods or "static" in mods else ";"
            mods = [x for x in mods if x != "abstract"]
        elif "abstract" in mods:
            if c.kind == "enum" or "abstract" not in c.mods:
                mods.remove("abstract")
            else:
                body = ";"
        self.put(f"{ind}{dep}{' '.join(mods + [tp + q(m.type), m.name])}({params}){throws} {body}", m.key)

    def cls(self, c: Cls, ind: str = "") -> None:
        """Emit a class with its members and nested classes."""
        mods = [x for x in c.mods if ind or x != "static"]
        if c.kind != "class":
            mods = [x for x in mods if x not in ("abstract", "final")]
        short = c.name.split(".")[-1]
        head = " ".join(mods + [c.kind, short + qualify(c.tparams, c.tvars)])
        for word, types in (("extends", c.extends), ("implements", c.implements)):
            head += f" {word} {', '.join(qualify(t, c.tvars) for t in types)}" if types else ""
        self.put(f"{ind}{'@Deprecated ' if c.deprecated else ''}{head} {{", c.fqn)
        inner = ind + "  "
        if c.kind == "enum":
            consts = [("@Deprecated " if m.deprecated else "") + m.name for m in c.members if m.kind == "enum_constant"]
            self.put(f"{inner}{', '.join(consts)};")
        if c.kind == "class":  # hidden constructors: one for generated subclasses, one hiding the default
            final, sup = "final" in c.mods, self.super_call(c)
            if not final:
                self.put(f"{inner}protected {short}({MARK} a, long b, {MARK} c, long d) {{ {sup} }}", c.fqn)
            if not any(m.kind == "ctor" and not m.params for m in c.members):
                self.put(f"{inner}{'private ' if final else ''}{short}() {{ {sup} }}", c.fqn)
        for m in c.members + self.fixups(c):
            self.member(c, m, inner)
        for ch in c.children:
            self.cls(ch, inner)
        self.put(f"{ind}}}")


def write_sources(tops: list[Cls], index: dict[str, Cls], gen: set[str], dropped: set[str],
                  src: Path) -> dict[str, list[str]]:
    """Write one .java per top-level class plus the Marker; returns {file: line keys}."""
    mark = src / (MARK.replace(".", "/") + ".java")
    mark.parent.mkdir(parents=True, exist_ok=True)
    mark.write_text(f"package {MARK.rsplit('.', 1)[0]};\npublic final class Marker {{ private Marker() {{}}\n"
                    f"  public static <T> T v() {STUB} }}\n")
    keys: dict[str, list[str]] = {str(mark): []}
    for c in tops:
        e = Emitter(index, gen, dropped)
        e.put(f"package {c.pkg};")
        e.cls(c)
        f = src / c.pkg.replace(".", "/") / f"{c.name}.java"
        f.parent.mkdir(parents=True, exist_ok=True)
        f.write_text("\n".join(e.lines) + "\n", encoding="utf-8")
        keys[str(f)] = e.keys
    return keys


def compile_all(javac: str, src: Path, keys: dict[str, list[str]], classes: Path) -> tuple[int, list[tuple[str, str]]]:
    """One javac run over all sources; returns (exit status, [(line key, error message)])."""
    (src / "sources.txt").write_text("\n".join(keys) + "\n")
    shutil.rmtree(classes, ignore_errors=True)
    classes.mkdir()
    r = subprocess.run([javac, "--release", "8", "-nowarn", "-encoding", "UTF-8", "-Xmaxerrs", "100000",
                        "-J-Xmx2g", "-d", str(classes), f"@{src / 'sources.txt'}"], capture_output=True, text=True)
    errs = []
    for m in re.finditer(r"^(.+?\.java):(\d+): error: (.*)$", r.stdout + r.stderr, re.M):
        lines, n = keys.get(m[1], []), int(m[2]) - 1
        errs.append((lines[n] if n < len(lines) else "", m[3]))
    if r.returncode and not errs:
        errs.append(("", (r.stderr.strip() or "no message").splitlines()[-1]))
    return r.returncode, errs


def build(tops: list[Cls], javac: str, jar: Path) -> tuple[int, int, int]:
    """Generate, compile (dropping members javac rejects, a few rounds at most) and write the jar.

    Returns (top-level classes, all classes, dropped members)."""
    jdk, index, todo = jdk_packages(javac), {}, list(tops)
    while todo:
        c = todo.pop()
        index[c.fqn] = c
        todo += c.children
    gen_tops = [c for c in tops if c.pkg not in jdk]
    gen = {k for k, c in index.items() if c.pkg not in jdk}
    dropped: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="android-stubs-") as tmp:
        src, classes = Path(tmp) / "src", Path(tmp) / "classes"
        for _ in range(4):
            shutil.rmtree(src, ignore_errors=True)
            rc, errs = compile_all(javac, src, write_sources(gen_tops, index, gen, dropped, src), classes)
            if rc == 0:
                break
            for key, msg in errs[:20]:
                print(f"android_api: javac: {key.split('|')[-1][:120]}: {msg}", file=sys.stderr)
            if not (bad := {k for k, _ in errs if "|" in k} - dropped):
                raise Fail(f"javac rejects the generated stubs ({errs[0][1]}): fix android_api.py")
            dropped |= bad
        else:
            raise Fail("javac still rejects the generated stubs after 4 rounds: fix android_api.py")
        if os.environ.get("ANDROID_API_KEEP_SRC"):  # debugging aid: keep the generated sources
            shutil.copytree(src, os.environ["ANDROID_API_KEEP_SRC"], dirs_exist_ok=True)
        part = jar.with_suffix(".part")
        with zipfile.ZipFile(part, "w", zipfile.ZIP_DEFLATED) as z:
            z.writestr("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\nCreated-By: android_api.py\r\n\r\n")
            for f in sorted(classes.rglob("*.class")):
                z.write(f, f.relative_to(classes).as_posix())
        part.replace(jar)
    return len(gen_tops), len(gen), len(dropped)


def main() -> int:
    """Entry point (see the module docstring)."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", required=True, type=Path, help="directory for current.txt and the jar")
    cache = ap.parse_args().cache.resolve()
    jar, stamp = cache / JAR, cache / STAMP
    me = hashlib.sha256(Path(__file__).read_bytes()).hexdigest()
    if jar.is_file() and stamp.is_file() and stamp.read_text().split()[:1] == [me]:
        print(jar)
        return 0
    javac = need("javac", "install a JDK (apt-get install openjdk-17-jdk-headless)")
    cache.mkdir(parents=True, exist_ok=True)
    lock = open(cache / ".lock", "w")  # two checks at once (parallel tests, two clones) build the jar in turn
    fcntl.flock(lock, fcntl.LOCK_EX)
    if jar.is_file() and stamp.is_file() and stamp.read_text().split()[:1] == [me]:  # the other one built it
        print(jar)
        return 0
    cur = cache / CURRENT
    if not cur.is_file():
        print(f"android_api: fetching {MEMBER} from Debian source package {SRC_PKG}", file=sys.stderr)
        print(f"android_api: {SRC_PKG} {fetch_current_txt(cur)}", file=sys.stderr)
    data = cur.read_bytes()
    sha = hashlib.sha256(data).hexdigest()
    if not data.startswith(b"// Signature format: 2.0"):
        raise Fail(f"{cur} is not an API signature file (format 2.0): delete it and rerun")
    tops, classes, dropped = build(parse_signature(data.decode("utf-8")), javac, jar)
    print(f"android_api: {tops} top-level / {classes} classes from {CURRENT} (sha256 {sha}), "
          f"{dropped} members dropped, jar {jar.stat().st_size} bytes", file=sys.stderr)
    stamp.write_text(f"{me} {sha}\n")
    print(jar)
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Fail as e:
        print(f"android_api: {e}", file=sys.stderr)
        sys.exit(2)
