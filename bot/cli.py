"""The ``newsbot`` command line: parse arguments, call the public API, map errors to a message and an exit code."""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from bot.config import Config, load_config
from bot.errors import UsageError
from retrieval.archive import load_archive, read_archive_file
from retrieval.errors import ConfigError, NewsbotError
from retrieval.inventory import format_summary, index_summary
from retrieval.models import Archive

log = logging.getLogger("newsbot")

EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_BROKEN_PIPE = 141  # 128 + SIGPIPE, what a shell reports for a writer whose reader went away


def package_version() -> str:
    """The installed distribution's version (what ``pip install`` put there, not a copy in the source)."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("newsbot")
    except PackageNotFoundError:  # run from a checkout that was never installed
        return "unknown (not installed)"


def _positive_int(text: str) -> int:
    """argparse type: a whole number >= 1 (so a bad count is a usage error before any work starts)."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{text!r} must be at least 1")
    return value


def _positive_ints(text: str) -> list[int]:
    """argparse type: a comma-separated list of whole numbers >= 1 (``1000,10000``)."""
    values = [_positive_int(part.strip()) for part in text.split(",") if part.strip()]
    if not values:
        raise argparse.ArgumentTypeError(f"{text!r}: give at least one size")
    return values


def shared_corpus() -> Path:
    """The shared corpus (seeds/, akira/, stress/): ``$NEWSBOT_SHARED/corpus``, else ``../shared/corpus`` from the
    current folder, which is where it sits when newsbot runs from its checkout."""
    return Path(os.environ.get("NEWSBOT_SHARED") or "../shared") / "corpus"


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="newsbot",
        description="Answer questions about a newsletter archive, in Discord or on the console.",
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {package_version()}")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    def common(p: argparse.ArgumentParser, *, db: bool = True,
               archive_help: str = "archive folder (default: the bundled sample archive)") -> None:
        p.add_argument("--archive", type=Path, help=archive_help)
        p.add_argument("--config", type=Path, help="TOML file overriding config/newsbot.toml")
        if db:
            p.add_argument("--db", type=Path,
                           help="SQLite state database (when storage.url is empty); the query cache sits beside it")

    p = sub.add_parser("index", help="load an archive and print what was found")
    p.set_defaults(handler=_cmd_index)
    common(p, db=False)
    p.add_argument("--json", action="store_true", help="print one JSON object")
    p.add_argument("--no-progress", action="store_true", help="never show a progress bar")

    p = sub.add_parser("repair", help="repair a mojibake file: text to stdout, summary to stderr")
    p.set_defaults(handler=_cmd_repair)
    p.add_argument("file", type=Path, help="the damaged markdown file")
    p.add_argument("--context", type=Path, help="an archive whose clean text trains the repair model")

    corpus = shared_corpus()
    p = sub.add_parser("eval-repair", help="measure repair accuracy on the seed documents of the shared corpus")
    p.set_defaults(handler=_cmd_eval_repair)
    p.add_argument("--corpus", type=Path, default=corpus,
                   help="the corpus folder holding seeds/ and akira/ (default: %(default)s, that is "
                        "$NEWSBOT_SHARED/corpus if set, else ../shared/corpus from the current folder)")
    p.add_argument("--cross-validate", action="store_true",
                   help="also corrupt every other archive issue and repair it with the rest (leave one out)")
    p.add_argument("--stress", type=int, default=0, metavar="N",
                   help="also repair N corrupted stress-corpus articles with the archive as context (with and "
                        "without the one-sense-per-discourse step)")
    p.add_argument("--workers", type=int, default=2, help="processes for --cross-validate and --stress")

    p = sub.add_parser("console", help="the same commands as the Discord bot, in a terminal")
    p.set_defaults(handler=_cmd_console)
    common(p)
    p.add_argument("--json", action="store_true", help="one JSON object per input line")
    p.add_argument("--lang", metavar="LOCALE", default=None,
                   help="the answers' language: zh-CN, zh-TW or en (default: from LC_ALL, LC_MESSAGES or LANG)")

    p = sub.add_parser("eval", help="MRR@5 and Recall@5 of newsbot and a naive baseline on the held-out and dev sets")
    p.set_defaults(handler=_cmd_eval)
    common(p, db=False)
    p.add_argument("--questions", type=Path, action="append",
                   help="a question file instead of the held-out and dev sets shipped for the archive's newsletter "
                        "(repeatable)")
    p.add_argument("--ablations", action="store_true", help="also measure each bilingual bridge on its own")
    p.add_argument("--explain", metavar="ID", help="explain one question: concepts, expansions, per-term scores")
    p.add_argument("--set", metavar="NAME=VALUE", action="append", default=[], dest="overrides",
                   help="measure a ranking variant, e.g. --set coord=0.5 --set bridge_floor=0 (repeatable)")
    p.add_argument("--json", action="store_true", help="print one JSON object (with the question ids)")

    p = sub.add_parser("bench", help="cold start to first answer, index build, query latency vs rank-bm25's "
                                     "full scan, cache, memory")
    p.set_defaults(handler=_cmd_bench)
    p.add_argument("--stress", type=Path, default=corpus / "stress",
                   help="a large markdown folder (default: %(default)s)")
    p.add_argument("--sizes", type=_positive_ints, default=[1000, 10000, 100000],
                   help="comma-separated index sizes (entries)")
    p.add_argument("--queries", type=_positive_int, default=200,
                   help="queries timed per index size (default: %(default)s)")
    p.add_argument("--archive", type=Path,
                   help=f"archive for the cold-start figure (default: the configured one, else {corpus / 'akira'} "
                        "when present, else the bundled sample archive)")
    p.add_argument("--config", type=Path, help="TOML file overriding config/newsbot.toml (also for the console)")
    p.add_argument("--peers", action="store_true",
                   help="also time tantivy, bm25s and rank-bm25 on the largest size's tokens (the optional 'bench' "
                        "extra; an engine that is not installed is skipped)")
    p.add_argument("--cold-start-runs", type=int, default=3, metavar="N",
                   help="restarts of a fresh `newsbot console` to time to its first answer (0: skip)")
    p.add_argument("--answers", type=int, default=100, metavar="N",
                   help="distinct questions fed to one `newsbot console --json` on --archive, timed per output "
                        "line against the eval's naive baseline (0: skip; default: %(default)s)")
    p.add_argument("--json", action="store_true", help="print the report as JSON")

    p = sub.add_parser("migrate", help="bring the state store's schema up to this version (one deploy step)")
    p.set_defaults(handler=_cmd_migrate)
    p.add_argument("--config", type=Path, help="TOML file overriding config/newsbot.toml")
    p.add_argument("--db", type=Path, help="SQLite state database (when storage.url is empty)")

    p = sub.add_parser("ingest", help="import an RSS/Atom feed (URL or file) into the archive folder once")
    p.set_defaults(handler=_cmd_ingest)
    p.add_argument("source", metavar="URL_OR_FILE", help="a feed URL (http/https) or a feed file")
    common(p, archive_help="archive folder to write the items into (required, unless archive.path is set; the "
                           "bundled sample archive is read-only)")
    p.add_argument("--json", action="store_true", help="print one JSON object")

    p = sub.add_parser("run", help="run the Discord bot (token from DISCORD_TOKEN)")
    p.set_defaults(handler=_cmd_run)
    common(p)
    p.add_argument("--shard-ids", help="comma-separated shard ids this process runs (with --shard-count)")
    p.add_argument("--shard-count", type=int, help="total shards across all processes")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    try:
        config = load_config(
            getattr(args, "config", None),
            archive__path=_str(getattr(args, "archive", None)),
            storage__db_path=_str(getattr(args, "db", None)),
        )
        check_storage(config, cache=args.command in _USES_CACHE, db=args.command in _USES_DB)
        if args.command != "run":  # the bot logs in discord.py's own format (launcher)
            level = config.logging.level.upper()
            if args.command == "console" and level == "INFO":
                level = "WARNING"  # progress chatter would interleave with answers; warnings still show
            logging.basicConfig(level=level, stream=sys.stderr,
                                format="%(asctime)s %(levelname)-8s %(name)s %(message)s")
        handler: Callable[[argparse.Namespace, Config], int] = args.handler
        return handler(args, config)
    except UsageError as err:
        print(f"newsbot: {err}", file=sys.stderr)
        return EXIT_USAGE
    except NewsbotError as err:
        print(f"newsbot: {err}", file=sys.stderr)
        return EXIT_ERROR
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `newsbot index | head`: the reader left. Say nothing, and keep Python from complaining at exit
        # when it flushes stdout again.
        with contextlib.suppress(OSError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_BROKEN_PIPE


_USES_CACHE = frozenset({"index", "console", "run", "eval"})
_USES_DB = frozenset({"console", "run"})


def check_storage(config: Config, *, cache: bool, db: bool) -> None:
    """Fail at once, naming the key, on storage paths that would fail later inside jieba or SQLite.

    Folders are created here, as the components would create them anyway."""
    if cache:
        _usable_folder("storage.cache_dir", config.cache_dir)
    if db:
        path = config.db_path
        if path.is_dir():
            raise ConfigError(f"storage.db_path: {path}: is a folder; name a file, e.g. {path / 'newsbot.sqlite3'}")
        if path.exists() and not path.is_file():  # /dev/null, a pipe: SQLite fails late with "disk I/O error"
            raise ConfigError(f"storage.db_path: {path}: not a regular file; name a file, e.g. "
                              f"{path.parent / 'newsbot.sqlite3'}")
        _usable_folder("storage.db_path", path.parent)


def _usable_folder(key: str, path: Path) -> None:
    if path.exists() and not path.is_dir():
        raise ConfigError(f"{key}: {path}: is a file, not a folder")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ConfigError(f"{key}: {path}: cannot create this folder ({err.strerror or err})") from None
    if not os.access(path, os.W_OK | os.X_OK):
        raise ConfigError(f"{key}: {path}: this folder is not writable")


def _writable_folder(key: str, path: Path) -> None:
    """A folder files can be written into: a probe file, since ``os.access`` says yes to root even in /proc."""
    _usable_folder(key, path)
    try:
        fd, probe = tempfile.mkstemp(dir=path, prefix=".newsbot-probe-")
    except OSError as err:
        raise ConfigError(f"{key}: {path}: cannot write files in this folder ({err.strerror or err})") from None
    os.close(fd)
    os.unlink(probe)


def _str(path: Path | None) -> str | None:
    return None if path is None else str(path)


def _load(config: Config, *, progress: bool = True) -> Archive:
    from bot.library import load_options

    # The default archive: [archive]'s, or the first of [[archives]].
    return load_archive(config.archive_specs[0].resolved, load_options(config, progress=progress))


def _cmd_index(args: argparse.Namespace, config: Config) -> int:
    started = time.perf_counter()
    archive = _load(config, progress=not args.no_progress)
    if args.json:
        print(json.dumps(index_summary(archive), ensure_ascii=False))
    else:
        print(format_summary(archive, time.perf_counter() - started))
    return EXIT_OK


def _cmd_repair(args: argparse.Namespace, config: Config) -> int:
    from retrieval.archive import iter_archive_files
    from retrieval.charlm import CharLM
    from retrieval.repair import detect_mojibake, repair_text

    try:
        text, _ = read_archive_file(args.file, max_bytes=int(config.archive.max_file_mb * 1_048_576))
    except NewsbotError as err:
        raise UsageError(f"{args.file}: {err}") from None
    started = time.perf_counter()
    lm = CharLM.from_jieba(config.search.file("userdict"))
    if args.context is not None:
        context = []
        for path in iter_archive_files(args.context):
            if path.resolve() == args.file.resolve():
                continue
            try:
                ctx, _ = read_archive_file(path)
            except NewsbotError:
                continue
            if detect_mojibake(ctx) is None:
                context.append(ctx)
        lm = lm.with_context(context)
    model_seconds = time.perf_counter() - started
    started = time.perf_counter()
    result = repair_text(text, lm)
    seconds = time.perf_counter() - started
    sys.stdout.write(result.text)
    kb = len(text.encode("utf-8")) / 1024
    print(
        f"newsbot repair: {args.file}: {result.codepage or 'clean'}; {result.damaged} damaged characters found, "
        f"{result.filled} filled, {result.uncertain} uncertain; {kb / seconds if seconds else 0:.1f} KB/s "
        f"(model {model_seconds:.2f} s)",
        file=sys.stderr,
    )
    return EXIT_OK


def _cmd_eval_repair(args: argparse.Namespace, config: Config) -> int:
    from retrieval.measure.repair_eval import evaluate_seed_repair

    if not (args.corpus / "seeds").is_dir():
        raise UsageError(f"{args.corpus}: no seeds/ folder here (pass --corpus DIR, the folder holding seeds/ and "
                         "akira/)")
    # The same model the product repairs with: jieba's dictionary plus our ML user dictionary.
    report = evaluate_seed_repair(
        args.corpus,
        config.search.file("userdict"),
        cross_validation=args.cross_validate,
        stress=max(0, args.stress),
        workers=max(1, args.workers),
    )
    print(json.dumps(report, ensure_ascii=False, indent=2))
    return EXIT_OK


def _cmd_console(args: argparse.Namespace, config: Config) -> int:
    from bot.console import run_console
    from bot.i18n import environment_locale, lang

    return run_console(config, json_mode=args.json, lg=lang(args.lang or environment_locale()))


def _cmd_eval(args: argparse.Namespace, config: Config) -> int:
    from bot.library import search_settings
    from retrieval.measure.evaluate import (
        explanation_json,
        find_question,
        format_explanation,
        load_questions,
        override_settings,
        question_sets,
    )
    from retrieval.measure.explain import explain
    from retrieval.measure.report import evaluate_sets, report_json, report_text
    from retrieval.search import SearchEngine

    archive = _load(config, progress=False)
    # Without --questions: the sets shipped for this newsletter (its profile's), Akira's for Akira's archive.
    files = {str(p): p for p in args.questions} if args.questions else question_sets(archive.profile)
    if not files:
        raise UsageError(f"no question sets are shipped for this archive (profile {archive.profile or 'none'}): "
                         "give --questions FILE")
    question = None
    try:
        if args.explain:
            question = find_question(args.explain, list(files.values()))
            if question is None:
                raise UsageError(f"no question {args.explain!r} in {', '.join(files)}")
            sets = {}
        else:
            sets = {name: load_questions(path) for name, path in files.items() if path.is_file()}
    except (OSError, ValueError) as err:
        raise UsageError(str(err)) from None
    if not args.explain and not sets:
        raise UsageError(f"no question file found ({', '.join(files)})")
    try:
        settings = override_settings(search_settings(config), args.overrides)
    except ValueError as err:
        raise UsageError(str(err)) from None
    engine = SearchEngine.build(archive, settings)
    if args.explain:
        assert question is not None
        explanation = explain(engine, question.query, question.expected)
        if args.json:
            print(json.dumps(explanation_json(question, explanation), ensure_ascii=False, indent=2))
        else:
            print(format_explanation(question, explanation))
        return EXIT_OK
    report = evaluate_sets(archive, engine, settings, config.archive_specs[0].resolved, sets,
                           with_ablations=args.ablations)
    print(report_json(report) if args.json else report_text(report))
    return EXIT_OK


def _cmd_bench(args: argparse.Namespace, config: Config) -> int:
    from bot.library import search_settings
    from retrieval.measure.bench import run_benchmark

    if not args.stress.is_dir():
        raise UsageError(f"no folder {args.stress}")
    sizes: list[int] = args.sizes
    say = (lambda _line: None) if args.json else print
    archive = _bench_archive(config)
    with tempfile.TemporaryDirectory(prefix="newsbot-bench-cache-") as tmp:
        # First, while no index build of this run holds the cores or the page cache. The answer figure starts
        # from the token cache the cold start filled, so that the index is built once.
        cache = Path(tmp) / "cache"
        cold_start = answers = None
        if args.cold_start_runs > 0:
            from bot.measure_start import measure_cold_start

            cold_start = measure_cold_start(archive, runs=args.cold_start_runs, config=args.config, cache_dir=cache,
                                            say=say)
        if args.answers > 0:
            from bot.measure_answers import measure_answers

            answers = measure_answers(archive, n=args.answers, config=args.config, cache_dir=cache, say=say)
    report = run_benchmark(args.stress, search_settings(config), sizes=sizes, queries=args.queries,
                           peers=args.peers, say=say)
    if cold_start is not None:
        report["cold_start"] = cold_start
    if answers is not None:
        report["answers"] = answers
    from bot.measure_i18n import measure_i18n

    report["i18n"] = measure_i18n(config, say)  # the localized renderers against English, same run
    if args.json:
        print(json.dumps(report, default=str, indent=2))
    return EXIT_OK


def _bench_archive(config: Config) -> Path:
    """The archive the cold-start figure is about: --archive (or the configured one), else the real archive
    in the shared corpus (:func:`shared_corpus`, where --stress defaults to), else the bundled sample."""
    if config.archive_specs[0].path:
        return config.archive_specs[0].resolved
    real = shared_corpus() / "akira"
    return real if real.is_dir() else config.archive_specs[0].resolved


def _cmd_ingest(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.feeds.cli import ingest

    default = config.archive_specs[0]  # [archive], or the first of [[archives]]
    if not default.path:
        raise UsageError("ingest writes into an archive folder: give --archive DIR (or set archive.path)")
    _writable_folder("archive.path" if not config.archives else "archives[0].path", default.resolved)
    return asyncio.run(ingest(config, args.source, json_mode=args.json))


def _cmd_run(args: argparse.Namespace, config: Config) -> int:
    from bot.discord_adapter.launcher import run

    if (args.shard_ids is None) != (args.shard_count is None):
        raise UsageError("--shard-ids and --shard-count go together")
    shards = None
    if args.shard_ids is not None:
        try:
            ids = [int(s) for s in args.shard_ids.split(",") if s.strip()]
        except ValueError:
            raise UsageError("--shard-ids takes numbers, e.g. 0,1") from None
        if not ids or args.shard_count < 1 or any(not 0 <= i < args.shard_count for i in ids):
            raise UsageError("every shard id must be between 0 and --shard-count - 1")
        shards = (ids, args.shard_count)
    return run(config, shards=shards)


def _cmd_migrate(args: argparse.Namespace, config: Config) -> int:
    import asyncio

    from bot.store import migrate_store

    before, after, where = asyncio.run(migrate_store(config.storage_url))
    if before == after:
        print(f"{where}: schema is at version {after}; nothing to do")
    else:
        print(f"{where}: schema migrated from version {before} to {after}")
    return EXIT_OK




if __name__ == "__main__":
    raise SystemExit(main())
