"""SQLite connectors' files go into their organization's own folder of the data folder.

Paths used to be read in one folder shared by every organization (``ERPFLOW_DATA_DIR``); they are
now read in ``<data folder>/org-<id>/`` (``connectors.catalog.sqlite``). For each SQLite settings
row with a plain path inside the shared folder:

- the file (with its ``-wal``, ``-shm`` and ``-journal`` side files) goes to the same place in the
  organization's folder; an absolute path is rewritten relative to that folder, a relative one
  keeps its text;
- a file that only one organization's connectors used is moved; a file that several organizations
  used is copied for each, so none shares another's data from now on, and the original stays where
  it was (no connector reaches the shared folder anymore: delete it once the copies are checked);
- nothing is ever overwritten: a file already in the organization's folder is kept.

A path referring to a variable, a path leading out of the data folder and a missing file are left
as they are. Every move, copy and skip is logged on ``erpflow.connectors``. Reversing changes nothing.
"""

from __future__ import annotations

import logging
import shutil
from pathlib import Path

from django.conf import settings
from django.db import migrations

from connectors.catalog.sqlite import SIDE_FILES, app_database_files, data_dir, organization_folder

logger = logging.getLogger("erpflow.connectors")


def relative_path(raw: str, root: Path) -> Path | None:
    """``raw`` relative to the shared folder ``root``; None when it leads elsewhere."""
    path = Path(raw.strip())
    if not path.is_absolute():
        return None if ".." in path.parts else path
    for base in (Path(settings.ERPFLOW_DATA_DIR), root):
        if path.is_relative_to(base) and ".." not in path.parts:
            return path.relative_to(base)
    return None


def files_of(main: Path) -> list[Path]:
    return [main, *(Path(f"{main}{suffix}") for suffix in SIDE_FILES)]


def forward(apps, schema_editor) -> None:
    ConnectorSettings = apps.get_model("connectors", "ConnectorSettings")
    root = data_dir()
    targets: dict[Path, set[Path]] = {}  # a file in the shared folder -> where it goes, one per organization
    for row in ConnectorSettings.objects.filter(connector__type_key="sqlite").select_related("connector"):
        connector, raw = row.connector, str(row.values.get("path") or "")
        if "{{" in raw:
            logger.warning(
                "SQLite connector %s (%s) refers to a variable for its path: it is now read in %s; "
                "move its file there yourself",
                connector.pk,
                connector.name,
                organization_folder(connector.organization_id),
            )
            continue
        relative = relative_path(raw, root) if raw else None
        source = (root / relative).resolve() if relative is not None else None
        if source is None or not source.is_relative_to(root) or source in app_database_files():
            logger.warning(
                "SQLite connector %s (%s): its path %r leads out of the data folder; left as it is (refused on use)",
                connector.pk,
                connector.name,
                raw,
            )
            continue
        if Path(raw).is_absolute():
            row.values = {**row.values, "path": str(relative)}
            row.save(update_fields=["values"])
        if source.is_file():
            targets.setdefault(source, set()).add(organization_folder(connector.organization_id) / relative)
    for source, destinations in targets.items():
        for destination in sorted(destinations):
            _place(source, destination, move=len(destinations) == 1)


def _place(source: Path, destination: Path, *, move: bool) -> None:
    if destination.exists():
        logger.warning("kept %s: a file is already there; %s is left in the shared folder", destination, source)
        return
    destination.parent.mkdir(parents=True, exist_ok=True)
    for side, target in zip(files_of(source), files_of(destination), strict=True):
        if side.is_file():
            if move:
                shutil.move(side, target)
            else:
                shutil.copy2(side, target)
    if move:
        logger.info("moved %s to %s, its organization's folder", source, destination)
    else:
        logger.info(
            "copied %s to %s: several organizations used it, each has its own copy now; the original stays",
            source,
            destination,
        )


class Migration(migrations.Migration):
    dependencies = [("connectors", "0001_initial")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
