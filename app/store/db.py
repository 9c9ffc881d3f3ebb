"""Database engine and sessions. Services own transactions through ``Database.transaction()``."""

from __future__ import annotations

import fcntl
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import create_engine, event
from sqlalchemy.engine import Engine, make_url
from sqlalchemy.exc import DataError
from sqlalchemy.orm import Session, sessionmaker

from app.errors import InvalidRequest


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # type: ignore[no-untyped-def]
    # WAL lets readers run while one writer commits; busy_timeout makes writers queue instead of failing.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    # Camunda's *Like filters are case-sensitive; SQLite's LIKE is not unless told so.
    cursor.execute("PRAGMA case_sensitive_like=ON")
    cursor.close()


class WriterQueue:
    """Queue SQLite writers of every process and thread on one lock file.

    SQLite lets one writer in at a time and makes the others poll with growing sleeps (its busy
    handler), which left the CPUs half idle under concurrent starts. A blocking ``flock`` wakes
    the next writer the moment the previous one commits. A thread lock in front of it, because
    threads of one process share the file descriptor and ``flock`` would not exclude them.
    """

    def __init__(self, path: str) -> None:
        self._fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        self._threads = threading.Lock()

    def acquire(self) -> None:
        self._threads.acquire()
        try:
            fcntl.flock(self._fd, fcntl.LOCK_EX)
        except BaseException:
            self._threads.release()
            raise

    def release(self) -> None:
        fcntl.flock(self._fd, fcntl.LOCK_UN)
        self._threads.release()


class QueuedConnection(sqlite3.Connection):
    """A pysqlite connection that gives the writer lock back right after COMMIT or ROLLBACK."""

    writer_queue: WriterQueue | None = None
    holds_writer_lock = False

    def take_writer_lock(self) -> None:
        if self.writer_queue is not None and not self.holds_writer_lock:
            self.writer_queue.acquire()
            self.holds_writer_lock = True

    def _give_back(self) -> None:
        if self.holds_writer_lock:
            self.holds_writer_lock = False
            assert self.writer_queue is not None
            self.writer_queue.release()

    def commit(self) -> None:
        try:
            super().commit()
        finally:
            self._give_back()

    def rollback(self) -> None:
        try:
            super().rollback()
        finally:
            self._give_back()

    def close(self) -> None:
        try:
            super().close()
        finally:
            self._give_back()


def _writer_queue_for(url: str) -> WriterQueue | None:
    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return WriterQueue(os.path.abspath(database) + ".writelock")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        queue = _writer_queue_for(url)
        connection_class = type("BatonSqliteConnection", (QueuedConnection,), {"writer_queue": queue})
        engine = create_engine(url, connect_args={"check_same_thread": False, "timeout": 30,
                                                  "factory": connection_class})
        event.listen(engine, "connect", _sqlite_pragmas)

        # pysqlite's own transaction handling defers BEGIN; issue BEGIN IMMEDIATE ourselves so a
        # read-then-write transaction takes the write lock up front instead of failing on upgrade.
        @event.listens_for(engine, "connect")
        def _no_autobegin(dbapi_connection, _record):  # type: ignore[no-untyped-def]
            dbapi_connection.isolation_level = None

        @event.listens_for(engine, "begin")
        def _begin(conn):  # type: ignore[no-untyped-def]
            # Readers use a deferred BEGIN so they never queue behind the single writer (WAL).
            readonly = conn.get_execution_options().get("baton_readonly", False)
            if not readonly:
                conn.connection.dbapi_connection.take_writer_lock()
            conn.exec_driver_sql("BEGIN" if readonly else "BEGIN IMMEDIATE")

        return engine
    return create_engine(url, pool_pre_ping=True, pool_size=10, max_overflow=20)


class Database:
    def __init__(self, url: str) -> None:
        self.url = url
        self.engine = make_engine(url)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)

    @property
    def is_sqlite(self) -> bool:
        return self.url.startswith("sqlite")

    @contextmanager
    def transaction(self, readonly: bool = False) -> Iterator[Session]:
        """One unit of work: commit on success, roll back on any exception.

        ``readonly`` transactions must not write; on SQLite they do not take the write lock.
        """
        session = self.sessions()
        if readonly:
            session.connection(execution_options={"baton_readonly": True})
        try:
            yield session
            session.commit()
        except DataError as exc:
            # A value the database cannot store (too long for its column, a NUL character):
            # the request's fault, not the server's.
            session.rollback()
            raise InvalidRequest("A value in the request is too long or contains characters that cannot be "
                                 "stored (such as NUL)") from exc
        except BaseException:
            session.rollback()
            raise
        finally:
            session.close()

    def dispose(self) -> None:
        self.engine.dispose()
