"""Java and Maven for the JVM parts of the stack (Kafka, Connect).

Jars come from Maven Central through the poms under deploy/maven/; nothing is
committed or unpacked from a tarball. A resolve is skipped when its result (a class
path file or a plugin folder) carries a stamp of the pom it came from, so a warm
`up` does not start Maven at all. Maven's own cache (~/.m2 or settings.maven_repo)
is kept between runs.
"""

from __future__ import annotations

import hashlib
import logging
import os
import shutil
import subprocess
import time
import zipfile
from pathlib import Path

from streams.config import PROJECT_ROOT, Settings
from streams.errors import StackError
from streams.stack._process import ServiceProcess

log = logging.getLogger(__name__)

MAVEN_DIR = PROJECT_ROOT / "deploy" / "maven"
_MVN_TIMEOUT = 1200.0


def java(settings: Settings) -> Path:
    """The java binary of settings.java_home (Kafka and Connect need Java 17 or newer)."""
    binary = settings.java_home / "bin" / "java"
    if not binary.is_file():
        raise StackError(
            f"java 17 not found at {binary}: apt-get install openjdk-17-jre-headless "
            "or set STREAMS_JAVA_HOME"
        )
    return binary


def java_process(
    settings: Settings, name: str, folder: Path, *args: str, env: dict[str, str] | None = None
) -> ServiceProcess:
    """A JVM started as `java @folder/jvm.args ARGS`.

    Class path and options sit in the argfile, so the command line recorded in the pid
    file stays short and the same from one start to the next.
    """
    return ServiceProcess(
        name=name,
        argv=[str(settings.java_home / "bin" / "java"), f"@{folder / 'jvm.args'}", *args],
        run_dir=settings.stack_dir / "run",
        cwd=folder,
        env=env or {},
    )


def _mvn(settings: Settings, pom_dir: Path, goal: str, *props: str) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise StackError("maven not found: apt-get install maven")
    argv = [mvn, "-B", "-q", "-f", str(pom_dir / "pom.xml"), goal, *props]
    if settings.maven_repo is not None:
        argv.append(f"-Dmaven.repo.local={settings.maven_repo.resolve()}")
    env = {**os.environ, "JAVA_HOME": str(settings.java_home)}
    log.info("resolving jars pom=%s (the first run downloads them)", pom_dir)
    start = time.monotonic()
    try:
        done = subprocess.run(
            argv, capture_output=True, text=True, check=False, env=env, timeout=_MVN_TIMEOUT
        )
    except subprocess.TimeoutExpired as exc:
        raise StackError(f"maven resolve of {pom_dir} took over {_MVN_TIMEOUT:.0f}s") from exc
    if done.returncode != 0:
        tail = (done.stdout + done.stderr).strip()[-1500:]
        raise StackError(
            f"maven could not resolve {pom_dir}/pom.xml (network to the Maven repository, "
            f"or ~/.m2/settings.xml):\n{tail}"
        )
    log.info("resolved pom=%s seconds=%.1f", pom_dir, time.monotonic() - start)


def _stamp(settings: Settings, pom_dir: Path) -> str:
    digest = hashlib.sha256((pom_dir / "pom.xml").read_bytes())
    digest.update(str(settings.maven_repo).encode())
    return digest.hexdigest()


def classpath(settings: Settings, pom_dir: Path, out_file: Path) -> str:
    """The runtime class path of `pom_dir`, resolved once per pom version."""
    stamp_file = out_file.with_suffix(".stamp")
    stamp = _stamp(settings, pom_dir)
    if not _fresh(stamp_file, stamp) or not _jars_present(out_file):
        out_file.parent.mkdir(parents=True, exist_ok=True)
        _mvn(
            settings,
            pom_dir,
            "dependency:build-classpath",
            "-DincludeScope=runtime",
            f"-Dmdep.outputFile={out_file.resolve()}",
        )
        stamp_file.write_text(stamp)
    return out_file.read_text().strip()


def plugin_folder(settings: Settings, pom_dir: Path, out_dir: Path) -> Path:
    """Copy the runtime jars of `pom_dir` into `out_dir` (a Connect plugin folder)."""
    stamp_file = out_dir / ".stamp"
    stamp = _stamp(settings, pom_dir)
    if not _fresh(stamp_file, stamp):
        # A new pom version must not leave the old jars next to the new ones.
        shutil.rmtree(out_dir, ignore_errors=True)
        out_dir.mkdir(parents=True)
        _mvn(
            settings,
            pom_dir,
            "dependency:copy-dependencies",
            "-DincludeScope=runtime",
            f"-DoutputDirectory={out_dir.resolve()}",
        )
        stamp_file.write_text(stamp)
    return out_dir


def declare_service(jar: Path, interface: str, implementation: str) -> None:
    """A jar holding only META-INF/services/<interface> naming `implementation`."""
    entry = f"META-INF/services/{interface}"
    if jar.is_file():
        with zipfile.ZipFile(jar) as existing:
            if existing.read(entry).decode().strip() == implementation:
                return
    with zipfile.ZipFile(jar, "w") as out:
        out.writestr(entry, implementation + "\n")


def _fresh(stamp_file: Path, stamp: str) -> bool:
    try:
        return stamp_file.read_text() == stamp
    except FileNotFoundError:
        return False


def _jars_present(cp_file: Path) -> bool:
    """False when Maven's cache was cleared after the class path was written."""
    try:
        entries = cp_file.read_text().strip().split(":")
    except FileNotFoundError:
        return False
    return bool(entries) and all(Path(e).is_file() for e in entries)


__all__ = ["MAVEN_DIR", "classpath", "declare_service", "java", "plugin_folder"]
