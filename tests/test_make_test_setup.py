"""`make test` sets up what the suite needs (bin/test-setup): Debian's chromium, installed with apt-get
when it is missing and this runs as root, otherwise one line saying what to install (the browser tests
then skip), and under CI=true a failure. Run with a PATH holding only fakes: chromium is hidden from the
script, `id` says who runs it, and a fake `apt-get` records what it was asked to do."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from tests.browser.conftest import CHROMIUM_MISSING, chromium_executable

ROOT = Path(__file__).resolve().parents[1]
SETUP = ROOT / "bin" / "test-setup"
BASH = shutil.which("bash")


def fake(folder: Path, name: str, script: str) -> None:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script)
    path.chmod(0o755)


@pytest.fixture
def machine(tmp_path):
    """A PATH without chromium; ``as_user(uid)`` fakes `id -u`."""
    folder = tmp_path / "bin"
    folder.mkdir()

    def as_user(uid: int) -> Path:
        fake(folder, "id", f"echo {uid}\n")
        return folder

    return as_user


def apt_get(folder: Path, *, works: bool = True) -> Path:
    """A fake apt-get that records each call (with DEBIAN_FRONTEND) and, when it works, installs chromium."""
    record = folder.parent / "apt-get.calls"
    chromium = folder / "chromium"
    install = f"[ \"$1\" = install ] && printf '#!/bin/sh\\n' > {chromium} && /bin/chmod +x {chromium}\n"
    outcome = install + "exit 0\n" if works else "exit 100\n"
    fake(folder, "apt-get", f'echo "$DEBIAN_FRONTEND $*" >> {record}\n' + outcome)
    return record


def setup(folder: Path, **env: str) -> tuple[int, list[str]]:
    result = subprocess.run([BASH, str(SETUP)], env={"PATH": str(folder), **env}, capture_output=True, text=True)
    return result.returncode, (result.stdout + result.stderr).splitlines()


def test_without_root_it_says_what_to_install_and_lets_the_rest_run(machine):
    folder = machine(1000)
    record = apt_get(folder)
    assert setup(folder) == (0, [CHROMIUM_MISSING])
    assert not record.exists(), "no apt-get without root"


def test_without_a_package_manager_it_says_what_to_install(machine):
    assert setup(machine(0)) == (0, [CHROMIUM_MISSING])


def test_under_ci_a_browser_it_cannot_install_fails_the_run(machine):
    code, lines = setup(machine(1000), CI="true")
    assert code != 0
    assert lines == [CHROMIUM_MISSING]


def test_as_root_it_installs_chromium_with_apt_get(machine):
    folder = machine(0)
    record = apt_get(folder)
    code, lines = setup(folder, CI="true")
    assert code == 0
    assert record.read_text().splitlines() == [" update -qq", "noninteractive install -y -qq chromium"]
    assert CHROMIUM_MISSING not in lines


def test_as_root_when_apt_get_fails_it_says_what_to_install(machine):
    folder = machine(0)
    apt_get(folder, works=False)
    code, lines = setup(folder)
    assert code == 0
    assert lines[-1] == CHROMIUM_MISSING


def test_with_chromium_on_the_path_it_does_nothing(machine):
    folder = machine(0)
    fake(folder, "chromium", "")
    record = apt_get(folder)
    assert setup(folder) == (0, [])
    assert not record.exists()


def test_the_browser_tests_decide_like_the_setup(machine, monkeypatch):
    """Missing chromium: skipped with the same line outside CI, failed under CI=true; found: its path."""
    folder = machine(1000)
    monkeypatch.setenv("PATH", str(folder))
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match="Chromium is missing"):
        chromium_executable()
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="Chromium is missing"):
        chromium_executable()
    fake(folder, "chromium", "")
    assert chromium_executable() == str(folder / "chromium")
