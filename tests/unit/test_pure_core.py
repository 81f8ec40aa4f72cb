"""The pure core imports no I/O library, directly or through another inbound module.

"Pure" here means: values in, values out. A core module may not reach the network, a database,
the broker, the file system, the environment, a log, a metric or an event loop; the adapters do
that around it. This test reads the *static* import graph: every module under `inbound/` is
parsed with `ast` (nothing is imported), `inbound.*` imports are followed transitively (imports
inside functions included; `from __future__` and `if TYPE_CHECKING:` blocks ignored, since
neither runs), and each failure names the chain, e.g. `inbound.rules.match -> inbound.logs ->
structlog`. Third-party libraries are not followed into: the question is what *our* code asks
for, not what PyJWT or pydantic import internally.

What the core may not import, and why (NETWORK_AND_DATABASE and CORE_FORBIDDEN below):

- network, database and broker libraries, and inbound's own adapters: that is I/O by definition;
- `asyncio`, `uvloop`, `threading`, `concurrent`: a pure decision has no event loop or thread;
- `os`, `pathlib`, `shutil`, `tempfile`, `glob`, `signal`: files, processes and the environment;
- `inbound.config`, `pydantic_settings`, `dotenv`: settings come from the environment, read once
  at start-up and passed down as values;
- `logging`, `structlog`, `inbound.logs`: writing a log line is output. Logging isn't the I/O
  that makes code slow or flaky, but a pure function reports by returning or raising, and the
  caller decides what to log; keeping log calls out of the code that handles phone numbers and
  message text also keeps those out of the logs by construction. The core imports none of them
  today, so this costs nothing;
- `prometheus_client`, `inbound.metrics`: counters are process-wide mutable state;
- `importlib`: a dynamic import is invisible to this check.

Allowed on purpose: `time` and `datetime` (the providers take a `clock` defaulting to
`time.time`, and an InboundMessage stamps `accepted_at`; reading the clock is the one impurity
the core accepts, and tests pass a fixed clock), `json`, `hmac`, `hashlib`, `base64`, `warnings`,
`pydantic`, `phonenumbers`, `cryptography`, `jwt`.

To add a pure module, add its name (or its package) to CORE. A listed name that doesn't exist is
a failure, never a skip.
"""

from __future__ import annotations

import ast
import re
from collections import deque
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

import pytest

import inbound

# The pure core: modules, or packages meaning every module in them (less NOT_CORE).
CORE = (
    "inbound.message",
    "inbound.phone",
    "inbound.concat",
    "inbound.states",
    "inbound.rules",
    "inbound.actions.event",
    "inbound.actions.backoff",
    "inbound.actions.attempts",
    "inbound.actions.notify_account",
    "inbound.actions.notify_rate",
    "inbound.actions.effects",
    "inbound.actions.notify_callback",
    "inbound.outcome",
    "inbound.lifecycle",
    "inbound.trace",
    "inbound.review.decisions",
    "inbound.review.labels",
    "inbound.review.reasons",
    "inbound.review.reason_counts",
    "inbound.review.coverage",
    "inbound.review.undelivered_words",
    "inbound.review.team_rules",
    "inbound.review.opt_out_rules",
    "inbound.review.token_state",
    "inbound.review.parameters",
    "inbound.review.rule_form",
    "inbound.sms_length",
    "inbound.review.throttle",
    "inbound.forwarded",
    "inbound.secret_keys",
    "inbound.providers",
    "inbound.prompts",
    "inbound.spool.breaker",
    "inbound.backfill.walk",
    "inbound.backfill.page",
    "inbound.conversation",
    "inbound.notify_keys",
    "inbound.received_texts",
)

# Modules inside a CORE package that are not pure, and why.
NOT_CORE = {
    "inbound.rules.load": "reads rule files from disk (checked against NETWORK_AND_DATABASE)",
    "inbound.rules.watch": "the reload loop: asyncio, SIGHUP and polling the rules folder",
    "inbound.rules.managed": "builds a process's rule book from the rule files (through load)",
    "inbound.providers.registry": "turns Settings into provider objects by dynamic import",
    "inbound.providers.sns_http": "the aiohttp fetcher for SNS signing certificates",
}

# Imports the walk neither reports nor follows: (importing module or package, imported) → why.
NOT_FOLLOWED = {
    ("inbound.providers", "inbound.config"): (
        "each provider's `_build(settings)` names the Settings type it is handed; nothing in a "
        "provider reads the environment. Drop this line once the providers import Settings "
        "under TYPE_CHECKING"
    ),
    ("inbound.providers.sns", "inbound.providers.sns_http"): (
        "the Fetcher port, FetchFailed and the aiohttp default; verify() is handed a fetcher, "
        "and the tests hand it a fake"
    ),
}

# Modules that read files or the environment but must reach no network, database or broker.
LOADERS = ("inbound.rules.load", "inbound.rules.managed", "inbound.config")

_IO = "network, database or broker I/O"
# inbound's adapters are named as well as the libraries they use, so that a core module importing
# one fails even if that adapter's I/O is hidden behind another module. A stale name here weakens
# nothing: the libraries below still catch a renamed adapter.
_ADAPTER = "an inbound adapter (I/O)"
NETWORK_AND_DATABASE = {
    **dict.fromkeys(
        (
            "aiohttp",
            "aio_pika",
            "aiormq",
            "pamqp",
            "sqlalchemy",
            "asyncpg",
            "aiosqlite",
            "sqlite3",
            "alembic",
            "socket",
            "ssl",
            "http.client",
            "http.server",
            "urllib.request",
            "subprocess",
        ),
        _IO,
    ),
    **dict.fromkeys(
        (
            "inbound.store",
            "inbound.broker",
            "inbound.receiver",
            "inbound.review",
            "inbound.worker",
            "inbound.spool",
            "inbound.commands",
            "inbound.cli",
            "inbound.bootstrap",
            "inbound.runtime",
            "inbound.actions.action_worker",
            "inbound.actions.callback",
            "inbound.actions.outbox",
            "inbound.actions.queue",
            "inbound.actions.sender",
            "inbound.providers.sns_http",
        ),
        _ADAPTER,
    ),
}
CORE_FORBIDDEN = {
    **NETWORK_AND_DATABASE,
    **dict.fromkeys(("asyncio", "uvloop", "threading", "concurrent"), "an event loop or thread"),
    **dict.fromkeys(
        ("os", "pathlib", "shutil", "tempfile", "glob", "signal"), "files, processes, environment"
    ),
    **dict.fromkeys(
        ("inbound.config", "pydantic_settings", "dotenv"), "settings from the environment"
    ),
    **dict.fromkeys(("logging", "structlog", "inbound.logs"), "log output"),
    **dict.fromkeys(("prometheus_client", "inbound.metrics"), "process-wide counters"),
    "importlib": "a dynamic import this check can't see",
    "inbound.rules.load": "reads rule files",
    "inbound.rules.watch": "the reload loop",
    "inbound.providers.registry": "reads settings, imports dynamically",
}


def within(name: str, prefix: str) -> bool:
    """`name` is `prefix` or inside it: `http.client` is within `http`, `httpx` isn't."""
    return name == prefix or name.startswith(prefix + ".")


class ImportGraph:
    """The static import graph of one package, read from its source with `ast`."""

    def __init__(self, root: Path, package: str) -> None:
        self.root = root  # the folder holding the package's folder
        self.package = package
        self._imports: dict[str, tuple[str, ...]] = {}

    def path(self, module: str) -> Path | None:
        """The source file of `module`, or None when the package has no such module."""
        base = self.root.joinpath(*module.split("."))
        for candidate in (base / "__init__.py", base.with_suffix(".py")):
            if candidate.is_file():
                return candidate
        return None

    def modules(self, name: str) -> list[str]:
        """`name`, and every module under it when it is a package."""
        path = self.path(name)
        if path is None:
            return []
        if path.name != "__init__.py":
            return [name]
        found = []
        for source in sorted(path.parent.rglob("*.py")):
            parts = source.relative_to(self.root).with_suffix("").parts
            found.append(".".join(parts[:-1] if parts[-1] == "__init__" else parts))
        return found

    def docstring(self, module: str) -> str:
        path = self.path(module)
        assert path is not None, module
        return ast.get_docstring(ast.parse(path.read_text(), str(path))) or ""

    def imports(self, module: str) -> tuple[str, ...]:
        """What running `module` imports: its imports, plus the packages those (and it) sit in.

        Imports of this package's modules are resolved to the module (`from inbound import
        phone` is `inbound.phone`); `from x import y` of another library gives `x.y`, so
        `from urllib import request` is seen as `urllib.request`.
        """
        if module not in self._imports:
            self._imports[module] = self._read_imports(module)
        return self._imports[module]

    def _read_imports(self, module: str) -> tuple[str, ...]:
        path = self.path(module)
        assert path is not None, module
        tree = ast.parse(path.read_text(), str(path))
        package = module if path.name == "__init__.py" else module.rpartition(".")[0]
        names: list[str] = list(self._parents(module))
        for node in _runtime_imports(tree):
            if isinstance(node, ast.Import):
                names.extend(alias.name for alias in node.names)
                continue
            if node.level:
                base = package.split(".")[: len(package.split(".")) - node.level + 1]
                source = ".".join([*base, node.module] if node.module else base)
            else:
                source = node.module or ""
            if source == "__future__":
                continue
            names.append(source)
            for alias in node.names:
                if alias.name != "*":
                    names.append(f"{source}.{alias.name}")
        resolved: list[str] = []
        for name in names:
            if within(name, self.package):
                # `from inbound.providers import base` is a module; `from inbound.phone import
                # normalise` is a name in one: keep the longest prefix that is a module.
                while self.path(name) is None and "." in name:
                    name = name.rpartition(".")[0]
                resolved.extend([*self._parents(name), name])
            else:
                resolved.append(name)
        return tuple(dict.fromkeys(name for name in resolved if name != module))

    def _parents(self, module: str) -> Iterator[str]:
        parts = module.split(".")
        for end in range(1, len(parts)):
            yield ".".join(parts[:end])

    def chains(
        self,
        start: str,
        forbidden: Iterable[str],
        not_followed: Iterable[tuple[str, str]] = (),
        core: Iterable[str] = (),
    ) -> list[tuple[str, ...]]:
        """Every shortest path from `start` to a forbidden import, through this package only.

        A `core` module, and the packages it sits in, is entered rather than reported even when
        a forbidden name covers it: `inbound.review.decisions` may be pure inside the review
        adapter, as long as it (and `inbound/review/__init__.py`) imports nothing forbidden.
        """
        forbidden = tuple(forbidden)
        not_followed = tuple(not_followed)
        entered = {parent for name in core for parent in (*self._parents(name), name)}
        found: list[tuple[str, ...]] = []
        seen = {start}
        queue: deque[tuple[str, ...]] = deque([(start,)])
        while queue:
            chain = queue.popleft()
            here = chain[-1]
            reported: set[str] = set()  # `from aiohttp import web` is one finding, not two
            for name in self.imports(here):
                if any(within(here, a) and within(name, b) for a, b in not_followed):
                    continue
                banned = None
                if name not in entered:
                    banned = next((ban for ban in forbidden if within(name, ban)), None)
                if banned is not None:
                    if banned not in reported:
                        reported.add(banned)
                        found.append((*chain, name))
                elif within(name, self.package) and name not in seen:
                    seen.add(name)
                    queue.append((*chain, name))
        return found


def _runtime_imports(tree: ast.AST) -> Iterator[ast.Import | ast.ImportFrom]:
    """Every import statement that can run, at any depth: not those under `if TYPE_CHECKING:`."""
    for node in ast.iter_child_nodes(tree):
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node
        if isinstance(node, ast.If) and _is_type_checking(node.test):
            for branch in node.orelse:
                yield from _runtime_imports(ast.Module(body=[branch], type_ignores=[]))
            continue
        yield from _runtime_imports(node)


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def explain(chains: Iterable[tuple[str, ...]], reasons: Mapping[str, str]) -> str:
    """One line per chain, with why its last import is forbidden."""
    lines = []
    for chain in chains:
        why = next(reason for name, reason in reasons.items() if within(chain[-1], name))
        lines.append(f"{' -> '.join(chain)}  ({why})")
    return "\n".join(lines)


INBOUND = ImportGraph(Path(inbound.__file__).parent.parent, "inbound")


def core_modules() -> list[str]:
    """The modules CORE names; a name that doesn't exist stays in, so that its test fails."""
    found: list[str] = []
    for name in CORE:
        found.extend(INBOUND.modules(name) or [name])
    return [module for module in dict.fromkeys(found) if module not in NOT_CORE]


def test_every_listed_module_exists() -> None:
    listed = [*CORE, *NOT_CORE, *LOADERS, *(name for pair in NOT_FOLLOWED for name in pair)]
    assert [name for name in listed if INBOUND.path(name) is None] == []


def test_every_exception_is_inside_a_core_package() -> None:
    stale = [name for name in NOT_CORE if not any(within(name, core) for core in CORE)]
    assert stale == []


@pytest.mark.parametrize("module", core_modules())
def test_core_module_imports_no_io_library(module: str) -> None:
    assert INBOUND.path(module) is not None, f"{module} is listed in CORE but doesn't exist"
    chains = INBOUND.chains(module, CORE_FORBIDDEN, NOT_FOLLOWED, core_modules())
    assert not chains, f"{module} is in the pure core but imports:\n" + explain(
        chains, CORE_FORBIDDEN
    )


@pytest.mark.parametrize("module", LOADERS)
def test_loader_imports_no_network_or_database_library(module: str) -> None:
    chains = INBOUND.chains(module, NETWORK_AND_DATABASE)
    assert not chains, f"{module} may read files but imports:\n" + explain(
        chains, NETWORK_AND_DATABASE
    )


def test_every_module_that_calls_itself_pure_is_checked() -> None:
    claims = [
        module
        for module in INBOUND.modules("inbound")
        if re.search(r"\bPure\b", INBOUND.docstring(module))
    ]
    assert claims, "no module says Pure: is the docstring scan broken?"
    assert [module for module in claims if module not in core_modules()] == []


# --- the walker itself, over a small package written for each test ---


def write(root: Path, files: Mapping[str, str]) -> ImportGraph:
    for name, source in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(source)
    return ImportGraph(root, "pkg")


def test_a_direct_import_is_reported(tmp_path: Path) -> None:
    graph = write(tmp_path, {"pkg/__init__.py": "", "pkg/core.py": "import sqlalchemy.orm\n"})
    assert graph.chains("pkg.core", ["sqlalchemy"]) == [("pkg.core", "sqlalchemy.orm")]


def test_an_import_through_other_modules_names_the_chain(tmp_path: Path) -> None:
    graph = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "from pkg import middle\n",
            "pkg/middle.py": "from pkg.logs import get_logger\n",
            "pkg/logs.py": "import structlog\n",
        },
    )
    chains = graph.chains("pkg.core", ["structlog"])
    assert chains == [("pkg.core", "pkg.middle", "pkg.logs", "structlog")]
    assert explain(chains, {"structlog": "log output"}) == (
        "pkg.core -> pkg.middle -> pkg.logs -> structlog  (log output)"
    )


def test_an_import_inside_a_function_counts(tmp_path: Path) -> None:
    source = "def later():\n    if True:\n        from aiohttp import web\n"
    graph = write(tmp_path, {"pkg/__init__.py": "", "pkg/core.py": source})
    assert graph.chains("pkg.core", ["aiohttp"]) == [("pkg.core", "aiohttp")]


def test_type_checking_imports_are_ignored_but_their_else_branch_is_not(tmp_path: Path) -> None:
    source = (
        "from __future__ import annotations\n"
        "import typing\n"
        "if typing.TYPE_CHECKING:\n    import sqlalchemy\n"
        "else:\n    import asyncio\n"
    )
    graph = write(tmp_path, {"pkg/__init__.py": "", "pkg/core.py": source})
    assert graph.chains("pkg.core", ["sqlalchemy", "asyncio", "__future__"]) == [
        ("pkg.core", "asyncio")
    ]


def test_a_forbidden_name_matches_submodules_not_lookalikes(tmp_path: Path) -> None:
    source = "import httpx\nfrom http import HTTPStatus\nfrom urllib import request\n"
    graph = write(tmp_path, {"pkg/__init__.py": "", "pkg/core.py": source})
    assert graph.chains("pkg.core", ["http.client", "urllib.request"]) == [
        ("pkg.core", "urllib.request")
    ]


def test_relative_imports_and_parent_packages_are_followed(tmp_path: Path) -> None:
    graph = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/sub/__init__.py": "import asyncio\n",
            "pkg/sub/core.py": "from . import sibling\n",
            "pkg/sub/sibling.py": "from ..store import save\n",
            "pkg/store.py": "import asyncpg\n",
        },
    )
    assert graph.chains("pkg.sub.core", ["asyncio", "asyncpg"]) == [
        ("pkg.sub.core", "pkg.sub", "asyncio"),
        ("pkg.sub.core", "pkg.sub.sibling", "pkg.store", "asyncpg"),
    ]


def test_a_forbidden_module_of_the_package_is_reported_not_entered(tmp_path: Path) -> None:
    graph = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "import pkg.store\n",
            "pkg/store.py": "import asyncpg\n",
        },
    )
    assert graph.chains("pkg.core", ["pkg.store", "asyncpg"]) == [("pkg.core", "pkg.store")]


def test_cycles_end_and_clean_modules_report_nothing(tmp_path: Path) -> None:
    graph = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/a.py": "from pkg import b\nimport json\n",
            "pkg/b.py": "from pkg import a\n",
        },
    )
    assert graph.chains("pkg.a", ["sqlalchemy"]) == []


def test_an_edge_not_followed_is_neither_reported_nor_entered(tmp_path: Path) -> None:
    graph = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/core.py": "from pkg.config import Settings\nfrom pkg import other\n",
            "pkg/other.py": "from pkg.config import Settings\n",
            "pkg/config.py": "import os\n",
        },
    )
    assert graph.chains("pkg.core", ["pkg.config", "os"], [("pkg.core", "pkg.config")]) == [
        ("pkg.core", "pkg.other", "pkg.config")
    ]


def test_a_core_module_inside_an_adapter_package_is_entered_not_reported(
    tmp_path: Path,
) -> None:
    graph = write(
        tmp_path,
        {
            "pkg/__init__.py": "",
            "pkg/web/__init__.py": "",
            "pkg/web/rules.py": "",
            "pkg/web/pages.py": "import aiohttp\n",
            "pkg/core.py": "from pkg.web import rules\n",
            "pkg/bad.py": "from pkg.web import pages\n",
        },
    )
    core = ["pkg.core", "pkg.web.rules"]
    assert graph.chains("pkg.core", ["pkg.web", "aiohttp"], core=core) == []
    assert graph.chains("pkg.web.rules", ["pkg.web", "aiohttp"], core=core) == []
    assert graph.chains("pkg.bad", ["pkg.web", "aiohttp"], core=core) == [
        ("pkg.bad", "pkg.web.pages")
    ]


def test_packages_list_their_modules_and_missing_names_nothing(tmp_path: Path) -> None:
    graph = write(tmp_path, {"pkg/__init__.py": "", "pkg/sub/__init__.py": "", "pkg/sub/x.py": ""})
    assert graph.modules("pkg.sub") == ["pkg.sub", "pkg.sub.x"]
    assert graph.modules("pkg.sub.x") == ["pkg.sub.x"]
    assert graph.modules("pkg.gone") == []
