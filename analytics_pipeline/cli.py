"""The `analytics-pipeline` command."""

from __future__ import annotations

import argparse
import sys
import warnings
from contextlib import contextmanager
from datetime import date
from pathlib import Path

import psycopg

from analytics_pipeline.config import ConfigurationError, landing_root, load_config, usable_number
from analytics_pipeline.demo.formats import FORMATS


def _cmd_db(args) -> int:
    from analytics_pipeline.db.embedded import resolve_urls, stop_embedded_server
    from analytics_pipeline.db.migrations import migrate

    # The one command that manages the server and the schema itself, so it sets up neither.
    if args.action == "stop":
        print("stopped the embedded PostgreSQL" if stop_embedded_server() else "the embedded PostgreSQL is not running")
        return 0
    url, _ = resolve_urls()
    if args.action == "url":
        print(url)
    else:
        applied = migrate(url)
        print(f"applied {len(applied)} migration(s): {', '.join(applied) or 'none pending'}")
    return 0


def _cmd_generate(args) -> int:
    from analytics_pipeline.demo.generator import generate

    summary = generate(
        args.landing,
        orgs=args.orgs,
        learners=args.learners,
        days=args.days,
        seed=args.seed,
        end_date=args.end_date,
        format=args.format,
    )
    print(
        f"wrote {summary.batch_files} batch files of {FORMATS[args.format]} "
        f"({summary.lines} lines: {summary.events} events, "
        f"{summary.retried_lines} client retries, {summary.invalid_lines} invalid lines, "
        f"{summary.late_events} late events) and 5 reference snapshots under {args.landing}"
    )
    return 0


@contextmanager
def _executor(args):
    """The in-process executor on the Dagster instance; without --verbose, dbt's output and
    Dagster's logs go to a log file (they are in the instance too), not the terminal."""
    # After bootstrap: the definitions read the dbt manifest.
    from analytics_pipeline.definitions import defs
    from analytics_pipeline.in_process_run import Executor, local_instance

    log_path = load_config().state_dir() / "logs" / "run.log"
    log_path.parent.mkdir(parents=True, exist_ok=True)
    with local_instance() as instance, log_path.open("a") as log:
        yield Executor(defs, instance, None if args.verbose else log)
    if not args.verbose:
        print(f"dbt and Dagster logs: {log_path} (or run with --verbose)")


def _cmd_run(args) -> int:
    if not args.landing.is_dir():
        raise ConfigurationError(f"landing directory {args.landing} does not exist")
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import format_summary, run_pipeline

    env = bootstrap(args.landing)
    with _executor(args) as execute:
        summary = run_pipeline(env.database_url, env.landing, execute, progress=print)
    print(format_summary(summary))
    return 0


def _cmd_status(args) -> int:
    import dagster as dg

    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.monitoring.status import format_status, status_report

    env = bootstrap(args.landing)
    from analytics_pipeline.definitions import defs

    with dg.DagsterInstance.get() as instance:
        print(format_status(status_report(env.database_url, env.landing, instance, defs)))
    return 0


def _cmd_dev(args) -> int:
    """Dagster's webserver and daemon on this project's data, sensors and schedules on."""
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.executables import console_script
    from analytics_pipeline.process_group import run_group
    from analytics_pipeline.project_layout import DBT_PROJECT_DIR

    args.landing.mkdir(parents=True, exist_ok=True)
    env = bootstrap(args.landing)
    dagster = console_script("dagster")
    workspace = DBT_PROJECT_DIR.parent / "workspace.yaml"
    print(
        f"Dagster UI on http://{args.host}:{args.port} (DAGSTER_HOME={env.dagster_home}, landing {env.landing})",
        flush=True,
    )
    return run_group([dagster, "dev", "-w", str(workspace), "-h", args.host, "-p", str(args.port)])


def _cmd_serve(args) -> int:
    import logging

    import uvicorn

    from analytics_pipeline.environment import web_process
    from analytics_pipeline.web.app import create_app
    from analytics_pipeline.web.config import PARTS, web_config

    args.landing.mkdir(parents=True, exist_ok=True)
    config = web_process(args.landing)
    parts = tuple(args.only or PARTS)
    # One JSON line per ingested batch on stdout: what log shippers expect.
    logging.basicConfig(level=logging.INFO, format="%(message)s", stream=sys.stdout)
    base = f"http://{args.host}:{args.port}"
    served = {
        "ingest": f"{base}/api/analytics/events/batch",
        "admin": f"{base}/api/admin/docs",
        "dashboard": f"{base}/",
    }
    print(
        "serving " + ", ".join(f"{part} on {served[part]}" for part in parts) + f" (landing {config.landing})",
        flush=True,
    )
    app = create_app(web_config(config, parts))
    uvicorn.run(app, host=args.host, port=args.port, access_log=False, log_level="warning")
    return 0


def _cmd_simulate(args) -> int:
    from analytics_pipeline.demo.simulator import simulate

    print(f"writing about {args.rate} events/s into {args.landing} (Ctrl-C to stop)")
    try:
        written = simulate(
            args.landing,
            args.rate,
            duration_seconds=args.seconds,
            on_batch=lambda path, n: print(f"  {n:>4} events -> {path.name}"),
        )
    except KeyboardInterrupt:
        return 0
    print(f"wrote {written} events")
    return 0


def _cmd_access(args) -> int:
    from analytics_pipeline.access import credentials
    from analytics_pipeline.access.grants import ensure_role, grant, list_grants, revoke
    from analytics_pipeline.db.connection import connect
    from analytics_pipeline.environment import database

    with connect(database()) as conn:
        if args.action == "create-role":
            ensure_role(conn, args.role, login=args.login, password=args.password, platform_admin=args.platform_admin)
            print(f"role {args.role} ready ({'LOGIN' if args.login else 'NOLOGIN'})")
        elif args.action == "grant":
            ensure_role(conn, args.role, login=args.login, password=args.password)
            grant(conn, args.role, args.org, "org_admin" if args.org_admin else "tenant")
            print(f"{args.role} may read org {args.org}" + (" including survey free text" if args.org_admin else ""))
        elif args.action == "revoke":
            removed = revoke(conn, args.role, args.org, "org_admin" if args.org_admin else None)
            print(f"removed {removed} grant(s)")
        elif args.action == "list":
            for row in list_grants(conn):
                login = "LOGIN" if row["can_login"] else "NOLOGIN"
                print(f"{row['role_name']:<30} {row['org_id']:<20} {row['privilege']:<10} {login}")
        elif args.action == "token":
            _token_action(conn, args, credentials)
        else:
            _write_key_action(conn, args, credentials)
    return 0


def _when(value) -> str:
    return value.strftime("%Y-%m-%d %H:%M UTC") if value else "-"


def _token_action(conn, args, credentials) -> None:
    if args.token_action == "create":
        new = credentials.create_token(conn, args.role, credentials.parse_lifetime(args.expires_in), args.label)
        print(f"token {new.token_id} for role {new.role}, expires {_when(new.expires_at)}; shown once, store it now:")
        print(new.token)
    elif args.token_action == "list":
        for row in credentials.list_tokens(conn):
            state = "revoked" if row["revoked_at"] else "active"
            print(
                f"{row['token_id']}  {row['role_name']:<30} {state:<8} expires {_when(row['expires_at'])}  "
                f"{row['label'] or ''}"
            )
    else:
        revoked = credentials.revoke_token(conn, args.token)
        if not revoked:
            raise ValueError("no active token has that id or value")
        print(f"revoked {revoked} token(s)")


def _write_key_action(conn, args, credentials) -> None:
    if args.key_action == "create":
        new = credentials.create_write_key(conn, args.label, args.org)
        bound = f"bound to org {new.org_id}" if new.org_id else "for any org"
        print(f"write key {new.key_id} ({args.label}, {bound}); shown once, store it now:")
        print(new.key)
    elif args.key_action == "list":
        for row in credentials.list_write_keys(conn):
            state = "revoked" if row["revoked_at"] else "active"
            print(f"{row['key_id']}  {row['label']:<24} {row['org_id'] or '(any org)':<20} {state}")
    else:
        revoked = credentials.revoke_write_key(conn, args.key)
        if not revoked:
            raise ValueError("no active write key has that id or value")
        print(f"revoked {revoked} write key(s)")


def _cmd_demo_tokens(args) -> int:
    from analytics_pipeline.db.connection import connect
    from analytics_pipeline.demo.access import DEMO_LIFETIME, demo_sign_ins
    from analytics_pipeline.environment import database

    with connect(database()) as conn:
        sign_ins = demo_sign_ins(conn)
    if len(sign_ins) == 1:
        raise ValueError("no organizations loaded yet: run `analytics-pipeline run` first")
    print(f"\nThe dashboard and admin API: .venv/bin/analytics-pipeline serve --landing {args.landing}")
    print(
        f"then open http://127.0.0.1:8080/ and sign in with one of these tokens "
        f"(valid {DEMO_LIFETIME.days} days; API docs at /api/admin/docs):"
    )
    for sign_in in sign_ins:
        print(f"  {sign_in.who:<40} {sign_in.token}")
    return 0


def _cmd_export(args) -> int:
    from tqdm import tqdm

    from analytics_pipeline.access.export import export_mart
    from analytics_pipeline.environment import database

    url = database()
    # Bars draw only on a terminal (disable=None), never into logs or pipes.
    with tqdm(unit="B", unit_scale=True, desc=f"exporting {args.mart}", disable=None) as bar:
        rows = export_mart(
            url, args.mart, args.org, args.out, role=args.role, on_chunk=lambda written: bar.update(written - bar.n)
        )
    print(
        f"exported {rows} row(s) of marts.{args.mart} for {args.org} to {args.out}"
        + (f" as role {args.role}" if args.role else "")
    )
    return 0


def _cmd_report(args) -> int:
    from analytics_pipeline.db.connection import connect
    from analytics_pipeline.environment import database
    from analytics_pipeline.monitoring.figures import mart_freshness
    from analytics_pipeline.reports.charts import html_page, org_charts

    with connect(database(), autocommit=False) as conn:
        if conn.execute("SELECT to_regclass('marts.view_course_completion_rate')").fetchone()[0] is None:
            raise ValueError("the marts are not built yet: run `analytics-pipeline run` first")
        charts = org_charts(conn, args.org)
        fresh = mart_freshness(conn).data_fresh_as_of
    if not charts.completion:
        raise ValueError(f"no mart rows for org {args.org!r}")
    args.out.write_text(html_page(charts, fresh.isoformat() if fresh else "unknown"), encoding="utf-8")
    print(
        f"wrote {args.out}: completion of {len(charts.completion)} course(s), "
        f"{len(charts.funnels)} drop-off funnel(s) for {args.org}"
    )
    return 0


def _cmd_replay(args) -> int:
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import format_summary, run_pipeline, run_replay

    env = bootstrap(args.landing)
    with _executor(args) as execute:
        # Reference snapshots first: a replay judges lines against the current ones.
        run_pipeline(env.database_url, env.landing, execute, progress=print)
        since = args.since and args.since.isoformat()
        partitions = run_replay(execute, args.reason, since, progress=print)
        print(f"partitions changed by the replay: {', '.join(partitions) or 'none'}")
        print(format_summary(run_pipeline(env.database_url, env.landing, execute)))
    return 0


def _cmd_forget(args) -> int:
    import getpass

    from analytics_pipeline.db.connection import connect
    from analytics_pipeline.environment import bootstrap
    from analytics_pipeline.in_process_run import format_summary, run_pipeline
    from analytics_pipeline.ingestion.pii import Tokenizer
    from analytics_pipeline.lifecycle.erasure import forget_learner

    env = bootstrap(args.landing)
    with connect(env.database_url) as conn:
        removed = forget_learner(conn, Tokenizer(env.pii_key()), args.user, args.org, f"cli:{getpass.getuser()}")
    scope = f" in org {args.org}" if args.org else ""
    print(f"erased the learner{scope}: {sum(removed.values())} rows")
    for table, rows in removed.items():
        print(f"  {table:<48}{rows:>8}")
    if args.no_rebuild:
        print("the marts still hold the learner until the next pipeline run rebuilds them")
        return 0
    with _executor(args) as execute:
        # The rebuild reads the database only: forget works wherever it is run from.
        summary = run_pipeline(env.database_url, env.landing, execute, progress=print, reload_reference=False)
        print(format_summary(summary))
    return 0


def _cmd_retention(args) -> int:
    from analytics_pipeline.environment import bootstrap

    bootstrap(args.landing)
    with _executor(args) as execute:
        execute("retention_job")
    print("retention applied: see the retention_job run's log for what went")
    return 0


def _cmd_docs(args) -> int:
    from analytics_pipeline.environment import bootstrap

    env = bootstrap()
    from analytics_pipeline.defs.dbt.project import dbt_resource

    # The catalog reads the built relations: run after `analytics-pipeline run`.
    invocation = (
        dbt_resource(env.database_url).cli(["docs", "generate", "--quiet"], target_path=args.out.resolve()).wait()
    )
    if not invocation.is_successful():
        raise ValueError("dbt docs generate failed; see the dbt log above")
    print(f"dbt docs in {args.out / 'index.html'} (serve with: dbt docs serve --target-path {args.out})")
    return 0


def _cmd_prepare(args) -> int:
    from analytics_pipeline.environment import ensure_dbt_manifest

    ensure_dbt_manifest()
    print("dbt manifest is up to date")
    return 0


LANDING_HELP = "a folder, or an object-store URL (s3://bucket/prefix)"


def _landing(text: str) -> Path:
    try:
        return landing_root(text)
    except ConfigurationError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _above_zero(expected: str, kind: type = float, most: int | None = None):
    """An argument type: a number as usable_number takes it (a count, a rate, a duration), up
    to `most` when given."""

    def parse(text: str) -> int | float:
        value = usable_number(text, kind)
        if value is None or (most is not None and value > most):
            raise argparse.ArgumentTypeError(f"expected {expected}, not {text!r}")
        return value

    return parse


_count = _above_zero("a whole number of at least 1", int)
_port = _above_zero("a port from 1 to 65535", int, most=65535)
_positive = _above_zero("a number above 0")


def _name(text: str) -> str:
    """An id or a label, as given (an id is matched exactly), but not blank."""
    if not text.strip():
        raise argparse.ArgumentTypeError(f"expected an id or a name, not {text!r}")
    return text


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a date as YYYY-MM-DD, not {text!r}") from None


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="analytics-pipeline", description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)

    db = sub.add_parser("db", help="the analytics database")
    db.add_argument("action", choices=["url", "migrate", "stop"])
    db.set_defaults(func=_cmd_db)

    gen = sub.add_parser("generate", help="write deterministic demo data into a landing zone")
    gen.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    gen.add_argument("--orgs", type=_count, default=3)
    gen.add_argument("--learners", type=_count, default=300)
    gen.add_argument("--days", type=_count, default=14)
    gen.add_argument("--seed", type=int, default=7)
    gen.add_argument(
        "--end-date",
        type=_day,
        default=None,
        help="last received date, YYYY-MM-DD (default: yesterday, UTC)",
    )
    gen.add_argument(
        "--format",
        choices=tuple(FORMATS),
        default="native",
        help="native events, or the same events as xAPI statements with Open edX course and block keys,"
        " or as Caliper events with a Canvas-like LMS's ids",
    )
    gen.set_defaults(func=_cmd_generate)

    run = sub.add_parser("run", help="ingest new batch files, roll up, rebuild the marts")
    run.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    run.add_argument("--verbose", action="store_true", help="show dbt's and Dagster's logs on the terminal")
    run.set_defaults(func=_cmd_run)

    status = sub.add_parser("status", help="ingest lag, freshness and the latest check results")
    status.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    status.set_defaults(func=_cmd_status)

    dev = sub.add_parser("dev", help="dagster dev (webserver + daemon) on the embedded database")
    dev.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    dev.add_argument("--host", default="127.0.0.1")
    dev.add_argument("--port", type=_port, default=3000)
    dev.set_defaults(func=_cmd_dev)

    serve = sub.add_parser("serve", help="the web app: ingestion routes, admin API and dashboard")
    serve.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_port, default=8080)
    serve.add_argument(
        "--only",
        action="append",
        choices=["ingest", "admin", "dashboard"],
        help="serve only this part (repeatable); default: all",
    )
    serve.set_defaults(func=_cmd_serve)

    collect = sub.add_parser("collect", help="serve the ingestion routes only (= serve --only ingest)")
    collect.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    collect.add_argument("--host", default="127.0.0.1")
    collect.add_argument("--port", type=_port, default=8080)
    collect.set_defaults(func=_cmd_serve, only=["ingest"])

    sim = sub.add_parser("simulate", help="keep writing realistic batch files into a landing zone")
    sim.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    sim.add_argument("--rate", type=_positive, default=20.0, help="events per second")
    sim.add_argument("--seconds", type=_positive, default=None, help="stop after this long (default: never)")
    sim.set_defaults(func=_cmd_simulate)

    access = sub.add_parser("access", help="tenant roles, org grants, admin tokens and write keys")
    actions = access.add_subparsers(dest="action", required=True)
    role_opts = argparse.ArgumentParser(add_help=False)
    role_opts.add_argument("--role", required=True)
    role_opts.add_argument("--login", action="store_true", help="create the role with LOGIN (default NOLOGIN)")
    role_opts.add_argument("--password", default=None)
    create_role = actions.add_parser("create-role", parents=[role_opts], help="a tenant (or platform-admin) role")
    create_role.add_argument("--platform-admin", action="store_true", help="the role sees every org")
    create_role.set_defaults(org_admin=False)
    for name, text in (("grant", "let a role read an org's rows"), ("revoke", "remove a role's grant on an org")):
        action = actions.add_parser(name, parents=[role_opts], help=text)
        action.add_argument("--org", type=_name, required=True)
        action.add_argument("--org-admin", action="store_true", help="the grant includes survey free text")
    actions.add_parser("list", help="every grant")

    token = actions.add_parser("token", help="bearer tokens for the admin API and the dashboard")
    token_actions = token.add_subparsers(dest="token_action", required=True)
    token_create = token_actions.add_parser("create", help="a new token, printed once on the last line")
    token_create.add_argument("--role", required=True, help="the database role the token acts as")
    token_create.add_argument("--expires-in", default="30d", help="lifetime: 90m, 12h, 30d, 2w (default 30d)")
    token_create.add_argument("--label", type=_name, default=None)
    token_actions.add_parser("list", help="every token (never its secret)")
    token_revoke = token_actions.add_parser("revoke", help="revoke a token by its id or value")
    token_revoke.add_argument("token", metavar="TOKEN_OR_ID")

    key = actions.add_parser("write-key", help="write keys for the ingestion routes")
    key_actions = key.add_subparsers(dest="key_action", required=True)
    key_create = key_actions.add_parser("create", help="a new write key, printed once on the last line")
    key_create.add_argument("--label", type=_name, required=True, help="the source that will use it")
    key_create.add_argument("--org", type=_name, default=None, help="bind the key to this org's events")
    key_actions.add_parser("list", help="every write key (never its secret)")
    key_revoke = key_actions.add_parser("revoke", help="revoke a write key by its id or value")
    key_revoke.add_argument("key", metavar="KEY_OR_ID")
    access.set_defaults(func=_cmd_access)

    demo_tokens = sub.add_parser("demo-tokens", help="demo roles and dashboard tokens for every org, printed")
    demo_tokens.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    demo_tokens.set_defaults(func=_cmd_demo_tokens)

    export = sub.add_parser("export", help="one org's rows of a mart to CSV (COPY, constant memory)")
    export.add_argument("--mart", required=True)
    export.add_argument("--org", type=_name, required=True)
    export.add_argument("--out", type=Path, required=True)
    export.add_argument("--role", default=None, help="export as this tenant role: its RLS applies")
    export.set_defaults(func=_cmd_export)

    report = sub.add_parser("report", help="one org's completion chart and drop-off funnels as an HTML page")
    report.add_argument("--org", type=_name, required=True)
    report.add_argument("--out", type=Path, default=Path("report.html"))
    report.set_defaults(func=_cmd_report)

    replay = sub.add_parser("replay-dead-letters", help="ingest dead-lettered lines that now pass")
    replay.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    replay.add_argument("--reason", type=_name, default=None, help="only this reason code (e.g. unknown_course)")
    replay.add_argument("--since", type=_day, default=None, help="only batches received on or after YYYY-MM-DD")
    replay.add_argument("--verbose", action="store_true", help="show dbt's and Dagster's logs on the terminal")
    replay.set_defaults(func=_cmd_replay)

    forget = sub.add_parser(
        "forget",
        help="erase a learner (GDPR/FERPA request): events, progress, free text, marts; a tombstone keeps them out",
    )
    forget.add_argument("--user", type=_name, required=True, help="the learner's id as the LMS sends it (userId)")
    forget.add_argument("--org", type=_name, default=None, help="erase the learner in this org only")
    forget.add_argument(
        "--landing", type=_landing, default=None, help=LANDING_HELP + " (default: ANALYTICS_LANDING_DIR)"
    )
    forget.add_argument("--no-rebuild", action="store_true", help="leave the rebuild to the next run or the daemon")
    forget.add_argument("--verbose", action="store_true", help="show dbt's and Dagster's logs on the terminal")
    forget.set_defaults(func=_cmd_forget)

    retention = sub.add_parser(
        "retention", help="apply the retention windows now (ANALYTICS_*_RETENTION_DAYS), as the daily schedule does"
    )
    retention.add_argument("--landing", type=_landing, default="landing", help=LANDING_HELP)
    retention.add_argument("--verbose", action="store_true", help="show dbt's and Dagster's logs on the terminal")
    retention.set_defaults(func=_cmd_retention)

    docs = sub.add_parser("docs", help="dbt docs generate: the models' documentation site, with the catalog")
    docs.add_argument("--out", type=Path, default=Path("dbt-docs"))
    docs.set_defaults(func=_cmd_docs)

    prepare = sub.add_parser("prepare", help="build the dbt manifest (dbt parse)")
    prepare.set_defaults(func=_cmd_prepare)
    return parser


def main(argv: list[str] | None = None) -> int:
    # Dagster's notices about its own beta APIs are for this project's developers, not its users.
    warnings.filterwarnings("ignore", message=r".* is currently in (beta|preview)")
    # platformdirs (through Dagster) warns on every start of a process without a login session.
    warnings.filterwarnings("ignore", message=r"XDG_RUNTIME_DIR is not set")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args)
    except (ConfigurationError, ValueError) as exc:
        return _fail(str(exc))
    except psycopg.OperationalError as exc:
        return _fail(f"cannot reach the database: {exc}")
    except psycopg.errors.InsufficientPrivilege as exc:  # a role given without what the command needs
        return _fail(f"the database refused: {exc.diag.message_primary or exc}")
    except OSError as exc:  # a file or folder the command cannot write or read
        return _fail(str(exc))


def _fail(message: str) -> int:
    """One line on stderr (libpq's messages span several), exit status 2."""
    print("error: " + " ".join(message.split()), file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main())
