"""Database plumbing: declarative base, portable column types, engines and sessions.

SQLite (the embedded default) runs in WAL mode with foreign keys on. PostgreSQL is
the production store. Services never commit: the request, CLI command or job that
opened the session does (see :func:`unit_of_work`). The one exception is
:func:`commit_before_outside_call`: a request that must wait on the network (a
payment provider) commits what it did so far and waits with no transaction open.
"""

from __future__ import annotations

import functools
import json
import re
import time
import zlib
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime
from decimal import Context as DecimalContext
from decimal import Decimal
from typing import Any, TypeVar, cast

from sqlalchemy import (
    JSON,
    Column,
    ColumnElement,
    DateTime,
    Engine,
    MetaData,
    String,
    Table,
    any_,
    create_engine,
    event,
    insert,
    inspect,
    literal,
    text,
)
from sqlalchemy import (
    cast as sql_cast,
)
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.dialects.postgresql import ARRAY, JSONB
from sqlalchemy.engine import Dialect
from sqlalchemy.exc import DisconnectionError
from sqlalchemy.orm import DeclarativeBase, Session, make_transient_to_detached, sessionmaker
from sqlalchemy.orm.attributes import set_committed_value
from sqlalchemy.pool import QueuePool, StaticPool
from sqlalchemy.types import TypeDecorator

from tollway.kernel.sqlite_wal import FALLBACK_PAGES, WalCheckpointer

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UTCDateTime(TypeDecorator[datetime]):
    """A timezone-aware UTC instant on every backend; naive datetimes are refused."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC instant")
        return value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def bind_processor(self, dialect: Dialect) -> Callable[[Any], Any] | None:
        """On SQLite, straight to the stored text (:func:`sqlite_time`) in one step
        instead of this type's processing followed by SQLite's ``DATETIME`` formatting
        (an invoice run binds about 20 instants an invoice)."""
        if dialect.name != "sqlite":
            return super().bind_processor(dialect)

        def process(value: datetime | None) -> str | None:
            instant = self.process_bind_param(value, dialect)
            return None if instant is None else sqlite_time(instant)

        return process

    def result_processor(self, dialect: Dialect, coltype: object) -> Callable[[Any], Any] | None:
        """On SQLite, the stored text parsed straight to an aware UTC instant."""
        if dialect.name != "sqlite":
            return super().result_processor(dialect, coltype)

        def process(value: str | None) -> datetime | None:
            return None if value is None else datetime.fromisoformat(value).replace(tzinfo=UTC)

        return process


def sqlite_time(instant: datetime) -> str:
    """An aware instant as SQLite stores it: naive UTC text of one fixed width
    (``2026-02-01 00:00:00.000000``, SQLAlchemy's ``DATETIME`` format), so that text
    order is time order."""
    if instant.tzinfo is UTC:  # the usual case: its text less the offset
        return instant.isoformat(" ", "microseconds")[:26]
    return instant.astimezone(UTC).replace(tzinfo=None).isoformat(" ", "microseconds")


class DecimalText(TypeDecorator[Decimal]):
    """An exact ``Decimal`` stored as its canonical string (rates, percentages)."""

    impl = String(64)
    cache_ok = True

    def process_bind_param(self, value: Decimal | None, dialect: Dialect) -> str | None:
        return None if value is None else str(value)

    def process_result_value(self, value: str | None, dialect: Dialect) -> Decimal | None:
        return None if value is None else Decimal(value)


JSONType = JSON().with_variant(JSONB(), "postgresql")


class Base(DeclarativeBase):
    """Declarative base of every table, with the constraint naming convention."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        Decimal: DecimalText(),
        dict[str, Any]: JSONType,
    }


ModelT = TypeVar("ModelT", bound=Base)

COPY_FROM = 50
"""On PostgreSQL, :func:`insert_rows` writes at least this many rows with ``COPY``."""


def insert_rows(session: Session, model: type[Base], rows: list[dict[str, Any]]) -> None:
    """Insert rows (column values) of ``model``'s table at once: no objects, no
    identity map; for batch writes of rows nothing reads back as objects in the same
    session. One ``executemany`` of the driver's own statement, each value bound by its
    column type once (SQLAlchemy's ``executemany`` builds a parameter set per row, and
    the ORM's bulk insert would split the rows by which values are ``None``); on
    PostgreSQL, from ``COPY_FROM`` rows, one ``COPY``, which neither builds nor parses
    a statement with a parameter per value."""
    table = model.__table__
    assert isinstance(table, Table)
    if not rows:
        return
    dialect = session.get_bind().dialect
    if dialect.name == "postgresql" and len(rows) < COPY_FROM:
        session.execute(insert(table), rows)
        return
    bound = _bound_columns(table, dialect, rows[0])
    quote = dialect.identifier_preparer.quote
    names = ", ".join(quote(c.name) for c, _ in bound)
    if dialect.name != "postgresql":
        marks = ", ".join("?" * len(bound))
        session.connection().exec_driver_sql(
            f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})",  # noqa: S608
            [tuple(values) for values in _bound_values(bound, rows)],
        )
        return
    raw: Any = session.connection().connection.dbapi_connection
    with (
        raw.cursor() as cursor,
        cursor.copy(f"COPY {quote(table.name)} ({names}) FROM STDIN") as copy,
    ):
        for values in _bound_values(bound, rows):
            copy.write_row(values)


def _bound_values(
    bound: Sequence[tuple[Column[Any], Callable[[Any], Any]]], rows: Iterable[dict[str, Any]]
) -> Iterator[list[Any]]:
    """Each row's values in ``bound``'s column order, bound; only the columns whose type
    has bind processing are passed through it (most values go to the driver as they are)."""
    names = [c.name for c, _ in bound]
    convert = [(i, bind) for i, (_, bind) in enumerate(bound) if bind is not _as_is]
    for row in rows:
        values = [row[name] for name in names]
        for i, bind in convert:
            values[i] = bind(values[i])
        yield values


def instance_of(model: type[ModelT], values: Mapping[str, Any]) -> ModelT:
    """A new (transient) ``model`` instance holding ``values``, made without the mapped
    constructor, which fires an attribute event per value: twenty times cheaper for a
    wide row, for objects built by the thousand and stored with :func:`insert_rows`.
    ``values`` must be column attributes of ``model``; nothing checks them."""
    instance: ModelT = model.__mapper__.class_manager.new_instance()
    instance.__dict__.update(values)
    return instance


def adopt(session: Session, model: type[ModelT], values: Mapping[str, Any]) -> ModelT:
    """The session's ``model`` object for a row read with plain columns (``values``:
    every column attribute), as the ORM's loading would give it: the one the session
    already holds for that primary key (its expired attributes filled from the row,
    its own changes kept), else a new one that joins the session as if loaded (later
    changes to it are flushed as updates). For a hot path where the ORM's loading
    costs more than the statement."""
    mapper = model.__mapper__
    identity = mapper.identity_key_from_primary_key(
        tuple(values[mapper.get_property_by_column(column).key] for column in mapper.primary_key)
    )
    held = session.identity_map.get(identity)
    if held is not None:
        for key in inspect(held).unloaded & values.keys():
            set_committed_value(held, key, values[key])
        return cast(ModelT, held)
    instance = instance_of(model, values)
    make_transient_to_detached(instance)
    session.add(instance)
    return instance


def _as_is(value: Any) -> Any:
    return value


def _bound_columns(
    table: Table, dialect: Dialect, row: dict[str, Any]
) -> tuple[tuple[Column[Any], Callable[[Any], Any]], ...]:
    """The columns of ``table`` that ``row`` has, each with what turns a value into
    the one the driver takes (the column type's bind processing), for statements
    written by hand."""
    return _bound(table, dialect, frozenset(row))


@functools.lru_cache(maxsize=256)
def _bound(
    table: Table, dialect: Dialect, names: frozenset[str]
) -> tuple[tuple[Column[Any], Callable[[Any], Any]], ...]:
    """:func:`_bound_columns`, made once per table, dialect and set of columns (making
    a JSON column's processor costs a fifth of a millisecond)."""
    return tuple(
        (c, c.type.dialect_impl(dialect).bind_processor(dialect) or _as_is)
        for c in table.columns
        if c.name in names
    )


def insert_new_rows(
    session: Session,
    model: type[Base],
    rows: list[dict[str, Any]],
    *,
    key: Sequence[str],
    returning: str,
) -> list[Any]:
    """Insert the rows (column values) of ``model`` whose unique ``key`` is free
    (``ON CONFLICT DO NOTHING``: on PostgreSQL, a key another transaction is inserting
    waits for it); ``returning``'s value of each row inserted. On PostgreSQL the rows
    travel as one array per column (``unnest``): a short statement, parsed and planned
    once per session, whatever the number of rows."""
    table = model.__table__
    assert isinstance(table, Table)
    if not rows:
        return []
    dialect = session.get_bind().dialect
    target = table.columns[returning]
    if dialect.name != "postgresql":
        stmt = sqlite.insert(table).on_conflict_do_nothing(index_elements=list(key))
        return list(session.scalars(stmt.returning(target), rows))
    bound = _bound_columns(table, dialect, rows[0])
    quote = dialect.identifier_preparer.quote
    arrays = ", ".join(
        f"CAST(:c{i} AS {c.type.compile(dialect=dialect)}[])" for i, (c, _) in enumerate(bound)
    )
    sql = (
        f"INSERT INTO {quote(table.name)} ({', '.join(quote(c.name) for c, _ in bound)}) "  # noqa: S608
        f"SELECT * FROM unnest({arrays}) "
        f"ON CONFLICT ({', '.join(quote(k) for k in key)}) DO NOTHING "
        f"RETURNING {quote(returning)}"
    )
    columns = zip(*_bound_values(bound, rows), strict=True)
    params = {f"c{i}": pg_array(column) for i, column in enumerate(columns)}
    return list(session.scalars(text(sql).columns(target), params))


def among(session: Session, column: Any, values: Iterable[Any]) -> ColumnElement[bool]:
    """``column IN (values)``; on PostgreSQL ``column = ANY(:array)``, one parameter
    however many values: the statement's text stays short and the same, so psycopg
    keeps its parse (it caches only statements up to 4 kB) and adapts one array
    instead of a parameter per value (as :func:`pg_array`'s text when it can)."""
    values = list(values)
    if session.get_bind().dialect.name == "postgresql":
        array = pg_array(values)
        bound = (
            sql_cast(literal(array, String()), ARRAY(column.type))
            if isinstance(array, str)
            else literal(array, ARRAY(column.type))
        )
        return cast(ColumnElement[bool], column == any_(bound))
    return cast(ColumnElement[bool], column.in_(values))


_PLAIN_ELEMENTS = re.compile(r"[\w.:+@-]+(?:,[\w.:+@-]+)*", re.ASCII)
_NULL_ELEMENT = re.compile(r"(?:^|,)null(?:,|$)", re.IGNORECASE)


def pg_array(values: Sequence[Any]) -> Any:
    """An array parameter for PostgreSQL, to be cast to its type in the statement
    (``CAST(%(p)s AS varchar[])``): the text of the array literal when every value is
    a ``str``, ``int``, finite ``Decimal`` or aware ``datetime`` whose text needs no quoting
    (ids, codes, numbers, instants), else the values as a list. psycopg adapts a list
    element by element in Python, about four times slower than joining the text."""
    texts: list[str] = []
    for value in values:
        kind = type(value)
        if kind is str:
            texts.append(value)
        elif kind is int or (kind is Decimal and value.is_finite()):
            texts.append(str(value))
        elif kind is datetime and value.tzinfo is not None:
            texts.append(value.isoformat())
        else:
            return list(values)
    if not texts:
        return "{}"
    joined = ",".join(texts)
    if (
        joined.count(",") != len(texts) - 1  # a value holds a comma
        or _PLAIN_ELEMENTS.fullmatch(joined) is None
        or _NULL_ELEMENT.search(joined)
    ):
        return list(values)
    return "{" + joined + "}"


def conflict_insert(session: Session, model: type[Any]) -> Any:
    """An INSERT of ``model`` that can say ``ON CONFLICT`` on the session's backend."""
    if session.get_bind().dialect.name == "postgresql":
        return postgresql.insert(model)
    return sqlite.insert(model)


def _json_default(value: object) -> object:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    raise TypeError(f"{type(value).__name__} is not JSON serializable")


def json_dumps(value: object) -> str:
    """JSON as the database stores it (decimals as strings, datetimes in ISO 8601)."""
    return json.dumps(value, default=_json_default, separators=(",", ":"))


def make_engine(url: str) -> Engine:
    """An engine for ``url``; SQLite gets WAL, foreign keys and a busy timeout, and a
    database file its own checkpointer (:mod:`tollway.kernel.sqlite_wal`).

    SQLite connections are pooled: opening one costs its pragmas, about a millisecond
    per transaction (and closing the last one of a file checkpoints it).
    """
    if not url.startswith("sqlite"):
        engine = create_engine(url, json_serializer=json_dumps, pool_size=10)
        event.listen(engine.pool, "checkin", _note_idle)
        event.listen(engine.pool, "checkout", functools.partial(_ping_if_idle, engine.dialect))
        return engine
    pool: dict[str, Any] = (
        {"poolclass": StaticPool} if ":memory:" in url else {"poolclass": QueuePool, "pool_size": 5}
    )
    engine = create_engine(
        url,
        json_serializer=json_dumps,
        connect_args={"check_same_thread": False, "timeout": 30},
        **pool,
    )
    event.listen(engine, "connect", _sqlite_on_connect)
    event.listen(engine, "begin", _sqlite_on_begin)
    if engine.url.database and ":memory:" not in url and "mode=memory" not in url:
        WalCheckpointer(engine)
    return engine


PING_AFTER_IDLE_SECONDS = 5.0
"""A pooled PostgreSQL connection idle longer than this is pinged before it is handed
out (a server restart or a dropped socket is found then, not by the request). One in
constant use is not: a ping on every checkout would be a fourth round trip for a
three-statement transaction."""

_IDLE_SINCE = "tollway_idle_since"


def _note_idle(_dbapi_connection: Any, record: Any) -> None:
    record.info[_IDLE_SINCE] = time.monotonic()


def _ping_if_idle(dialect: Dialect, dbapi_connection: Any, record: Any, _proxy: Any) -> None:
    idle_since = record.info.get(_IDLE_SINCE)
    if idle_since is None or time.monotonic() - idle_since <= PING_AFTER_IDLE_SECONDS:
        return
    try:
        alive = dialect.do_ping(dbapi_connection)
    except dialect.loaded_dbapi.Error as error:
        raise DisconnectionError(str(error)) from error
    if not alive:
        raise DisconnectionError("the connection did not answer a ping")


def _sqlite_on_connect(dbapi_connection: Any, _record: Any) -> None:
    # Let SQLAlchemy emit BEGIN itself so a transaction starts with the first statement.
    dbapi_connection.isolation_level = None
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute(f"PRAGMA wal_autocheckpoint={FALLBACK_PAGES}")  # the engine's thread does it
    cursor.close()
    dbapi_connection.create_function("decimal_add", 2, _decimal_add, deterministic=True)
    dbapi_connection.create_function("decimal_max", 2, _decimal_max, deterministic=True)
    dbapi_connection.create_function("text_hash", 1, _text_hash, deterministic=True)


_DECIMAL_TEXT = DecimalContext(prec=80)
"""SQLite stores decimals as text (:class:`DecimalText`), which its ``+`` and ``max``
would treat as floats or order as strings: ``decimal_add`` and ``decimal_max`` work
on them exactly, in SQL (80 digits, as metering adds)."""


def _decimal_add(a: str, b: str) -> str:
    return str(_DECIMAL_TEXT.add(Decimal(a), Decimal(b)))


def _decimal_max(a: str, b: str) -> str:
    return a if Decimal(a) >= Decimal(b) else b


def _text_hash(value: str) -> int:
    """A stable, non-negative hash of text (CRC-32): SQLite's stand-in for
    PostgreSQL's ``hashtext``, to split rows between workers."""
    return zlib.crc32(value.encode())


def _sqlite_on_begin(connection: Any) -> None:
    # IMMEDIATE takes the write lock up front: no deadlock when two writers upgrade.
    # Read-only sessions (see make_read_session_factory) begin DEFERRED: WAL readers
    # never wait for the writer.
    if connection.get_execution_options().get(READ_ONLY):
        connection.exec_driver_sql("BEGIN")
    else:
        connection.exec_driver_sql("BEGIN IMMEDIATE")


READ_ONLY = "tollway_read_only"


def make_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions that keep loaded attributes after commit (responses are built after)."""
    return sessionmaker(bind=engine, expire_on_commit=False, autoflush=True)


def make_read_session_factory(engine: Engine) -> sessionmaker[Session]:
    """Sessions for requests that only read: on SQLite they take no write lock."""
    return make_session_factory(engine.execution_options(**{READ_ONLY: True}))


@contextmanager
def unit_of_work(factory: sessionmaker[Session]) -> Iterator[Session]:
    """One transaction: commit when the block succeeds, roll back when it raises."""
    session = factory()
    try:
        yield session
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


COMMITTED_EARLY = "tollway_committed_early"
"""``Session.info`` flag: the session committed before its owner's final commit."""


def commit_before_outside_call(session: Session) -> None:
    """Commit the work so far, so that a network call that follows holds no lock (on
    SQLite every write transaction holds the database's write lock). Loaded objects
    keep their attributes (``expire_on_commit=False``): reading them issues no
    statement. The next statement begins a new transaction; a step that writes after
    the call reloads what it depends on (it may have changed meanwhile)."""
    session.commit()
    session.info[COMMITTED_EARLY] = True


def committed_early(session: Session) -> bool:
    """Whether :func:`commit_before_outside_call` ran on ``session``."""
    return bool(session.info.get(COMMITTED_EARLY))


_COMMIT_TRIED = "tollway_commit_tried"


def commit_and_close(session: Session) -> None:
    """End the transaction and give the connection back (closing after a failed
    commit rolls back)."""
    session.info[_COMMIT_TRIED] = True
    try:
        session.commit()
    finally:
        session.close()


def may_have_committed(session: Session) -> bool:
    """Whether any of ``session``'s work may be committed: it committed early, or a
    commit was tried (a commit that fails on a lost connection has an unknown
    outcome)."""
    return committed_early(session) or bool(session.info.get(_COMMIT_TRIED))
