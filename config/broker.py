"""The broker of `make run`: kombu's filesystem transport, made safe for several processes at once.

kombu (5.7) creates a message file under its final name and only then writes it. The worker lists the
queue folder, takes any file named like a message and decodes it, so it could take one in between: the
empty or partial file raised JSONDecodeError, which stopped the worker ("Unrecoverable error"), and the
message was gone. kombu locks the file while writing, but the reader never asks for the lock. Exchange
tables (which queue is bound where) are created the same way, opened with truncation before the lock,
so two processes binding at once could leave a table empty, short of a queue, or undecodable.

Here every file appears whole: it is written under a name no reader looks at and renamed into place (a
rename within one folder is atomic). The worker claims a message by renaming it within the queue folder
instead of kombu's move to the system temp folder (a copy when that is another filesystem, which two
consumers could both make), and a file that still does not decode is set aside with an error logged
rather than stopping the worker. config/celery.py makes ``filesystem://``, the default
``CELERY_BROKER_URL``, name this transport.
"""

from __future__ import annotations

import contextlib
import logging
import os
import shutil
import uuid
from pathlib import Path
from queue import Empty
from time import monotonic

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import bytes_to_str, str_to_bytes
from kombu.utils.json import dumps, loads

logger = logging.getLogger(__name__)


def _write_whole(path: Path, data: bytes, *, replace: bool = True) -> None:
    """Make ``path`` hold ``data``, never visible half-written. With ``replace=False`` an existing file
    is kept (``FileExistsError``): a link, unlike a rename, refuses to overwrite."""
    # The suffix keeps the temporary name out of kombu's match on "<anything>.<queue>.msg".
    temporary = path.with_name(f"{path.name}.{uuid.uuid4().hex}.writing")
    try:
        temporary.write_bytes(data)
        if replace:
            os.replace(temporary, path)
        else:
            os.link(temporary, path)
    finally:
        temporary.unlink(missing_ok=True)


class Channel(filesystem.Channel):
    def _put(self, queue, payload, **kwargs):
        # kombu's name: ordered by time, unique, and "<queue>.msg" after the first dot is how _get finds it.
        path = Path(self.data_folder_out) / f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        try:
            _write_whole(path, str_to_bytes(dumps(payload)))
        except OSError as exc:
            raise ChannelError(f"Cannot add file {str(path)!r} to directory") from exc

    def _get(self, queue):
        folder = Path(self.data_folder_in)
        for name in sorted(os.listdir(folder)):
            if name.partition(".")[2] != f"{queue}.msg":
                continue
            claimed = folder / f"{name}.claimed"
            try:
                os.rename(folder / name, claimed)  # of several consumers, exactly one succeeds
            except OSError:
                continue  # another consumer took it
            try:
                payload = claimed.read_bytes()
                try:
                    message = loads(bytes_to_str(payload))
                except ValueError:
                    claimed.rename(folder / f"{name}.undecodable")
                    logger.error("Set aside broker message %s: it is not JSON (%d bytes)", folder / name, len(payload))
                    continue
                if self.store_processed:
                    shutil.move(claimed, Path(self.processed_folder) / name)
                else:
                    claimed.unlink()
            except OSError as exc:
                raise ChannelError(f"Cannot read file {str(claimed)!r} from queue.") from exc
            return message
        raise Empty()

    def _queue_bind(self, exchange, routing_key, pattern, queue):
        # Create a missing table whole (empty) first, so kombu always takes its locked read-and-update path
        # instead of its truncate-then-lock creation.
        self.control_folder.mkdir(exist_ok=True)
        table = self._exchange_file(exchange)
        if not table.exists():
            # FileExistsError: another process created it meanwhile, and kombu adds to that one. Any other
            # error (a filesystem without hard links): kombu creates it as it always did.
            with contextlib.suppress(OSError):
                _write_whole(table, b"[]", replace=False)
        super()._queue_bind(exchange, routing_key, pattern, queue)


class Transport(filesystem.Transport):
    Channel = Channel

    @property
    def default_connection_params(self) -> dict:
        """A folder has no host: with kombu's default ("localhost") every connection of `make run` logs
        the warning "No hostname was supplied. Reverting to default 'localhost'"."""
        return {}
