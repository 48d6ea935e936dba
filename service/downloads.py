"""Whole-dataset downloads at stable URLs (``/download/zigraph.ttl`` …).

Dumps are byte-identical to ``zigraph export --format X``: the store writes them
(``Backend.dump``) with the same writer, ``export.write_dataset``, which sorts the quads on
disk and names their blank nodes (a store built from the files holds them under random
names). A dump is written once per format and dataset version to a file (``dump_folder``:
``dumps/`` in the embedded store's folder), shared by every web process and sent from there
with ``send_file`` (Range requests, sendfile), so no process holds a whole dump in memory; a
file of another version is removed an hour after it was written. Dumps carry an ETag from the
dataset version and a Last-Modified from the store's build time, so caches revalidate with a
304, answered before any file is opened.
"""

from __future__ import annotations

import hashlib
import logging
import os
import stat
import tempfile
import threading
import time
from pathlib import Path

from flask import Blueprint, Response, current_app, send_file
from werkzeug.exceptions import NotFound

from service.descriptions import conditional, served_version
from service.export import FORMATS, RdfSerialization
from service.security import allow_cross_origin
from service.settings import get_settings
from service.store import get_store
from service.store.embedded import EmbeddedBackend

log = logging.getLogger(__name__)
bp = Blueprint("downloads", __name__)
bp.after_request(allow_cross_origin)

DUMP_STEM = "zigraph"
STALE_DUMP_SECONDS = 3600  # another version's dump file is removed this long after its writing
_writing = threading.RLock()


def dump_folder() -> Path:
    """Return the folder the dumps of the served data are written to.

    ``dumps/`` inside the embedded store's folder (the store ignores it, and a rebuild removes
    it with the store); for a remote store, or where that folder cannot be written, a folder
    of this user's in the temporary directory, named after the store.
    """
    store = get_store()
    if isinstance(store, EmbeddedBackend):
        folder = Path(store.location) / "dumps"
        try:
            folder.mkdir(exist_ok=True)
            return folder
        except OSError as error:
            log.warning("cannot write dumps beside the store (%s); using a temporary folder", error)
    name = hashlib.sha256(store.location.encode()).hexdigest()[:12]
    folder = Path(tempfile.gettempdir()) / f"zigraph-dumps-{os.getuid()}-{name}"
    folder.mkdir(mode=0o700, exist_ok=True)
    found = folder.lstat()
    if not stat.S_ISDIR(found.st_mode) or found.st_uid != os.getuid() or found.st_mode & 0o077:
        # Someone else's, or open to others, in a shared folder: never write dumps there.
        if "zigraph.dump_folder" not in current_app.extensions:
            log.warning("%s is not this user's private folder; dumps go to a new one", folder)
            current_app.extensions["zigraph.dump_folder"] = tempfile.mkdtemp(prefix="zigraph-")
        folder = Path(current_app.extensions["zigraph.dump_folder"])
    return folder


def dump_file(version: str, fmt: RdfSerialization) -> Path:
    """Return the file of the dump of ``version`` in ``fmt``, writing it first if needed.

    The dump is written under a temporary name and renamed, so a file with the final name is
    always whole; two processes that write the same dump at once each rename a whole file.
    """
    folder = dump_folder()
    path = folder / f"{DUMP_STEM}-{version}.{fmt.extension}"
    with _writing:
        if path.exists():
            return path
        partial = folder / f".{path.name}.{os.getpid()}.{threading.get_ident()}.partial"
        try:
            with partial.open("wb") as output:
                get_store().dump(fmt, output)
            os.replace(partial, path)
        finally:
            partial.unlink(missing_ok=True)
        for old in folder.glob(f"{DUMP_STEM}-*"):
            # Another version's, unchanged for an hour: no answer still about to open it.
            current = old.name.startswith(f"{DUMP_STEM}-{version}.")
            if not current and time.time() - old.stat().st_mtime > STALE_DUMP_SECONDS:
                old.unlink(missing_ok=True)
    return path


@bp.route(f"/download/{DUMP_STEM}.<extension>")
def download(extension: str) -> Response:
    """Answer the whole dataset in the format named by the file extension."""
    by_extension = {f.extension: f for f in FORMATS.values()}
    fmt = by_extension.get(extension)
    if fmt is None:
        raise NotFound(
            f"No dump with extension .{extension}; choose one of "
            + ", ".join(f"{DUMP_STEM}.{e}" for e in by_extension)
        )
    version, built = served_version()
    checked = conditional(Response(mimetype=fmt.media_type), version, built, fmt.name)
    if checked.status_code == 304:  # the client has it: no file is opened
        return checked
    response = send_file(
        dump_file(version, fmt),
        mimetype=fmt.media_type,
        download_name=f"{DUMP_STEM}.{fmt.extension}",
        etag=checked.get_etag()[0] or False,  # conditional()'s; never one made from the file
        last_modified=checked.last_modified,
        max_age=get_settings().dump_max_age,
        conditional=True,
    )
    response.cache_control.public = True
    response.vary.add("Accept")
    return response
