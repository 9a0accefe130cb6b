"""`tracker gate …`, `tracker cabinet …`, `tracker watch …` — RFID exit gates and smart cabinets (issue 23).

`gate add|list` and `cabinet add|list` bind readers to places (register data, administrator or security officer);
`watch run` runs the watchers for every gate and cabinet whose reader is configured in `[devices]` on this machine,
with the alarm outputs given; `watch log` lists what they saw. Each command makes calls into `tracker.watch`; it never
checks a rule itself.
"""

from __future__ import annotations

import json
import shlex
import signal
import threading
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.text import Text

from tracker.cli.common import (
    JsonFlag,
    device_fail,
    ensure_lang,
    fail,
    load_configured,
    operator,
    out,
    print_json,
    run,
    say,
    store,
    table,
    when,
)
from tracker.lazy import lazy

if TYPE_CHECKING:
    from tracker.schema import WatchEntry
    from tracker.watch import places
else:
    places = lazy("tracker.watch.places")
from tracker.domain import DomainError, utc_iso
from tracker.rules import Action

gate_app = typer.Typer(no_args_is_help=True, help="Exit gates (通道门): bind a reader to a door, list them.")
cabinet_app = typer.Typer(no_args_is_help=True, help="Smart cabinets (智能柜): bind a reader to a cabinet, list them.")
watch_app = typer.Typer(no_args_is_help=True, help="Watch gates and cabinets (监控): run the watchers, read their log.")


def _view(v: places.PlaceView) -> dict[str, Any]:
    return {"code": v.code, "kind": v.kind, "device": v.device, "inside": v.inside, "outside": v.outside,
            "antennas": v.antennas, "created_by": v.created_by}


@gate_app.command("add")
def gate_add(code: Annotated[str, typer.Argument(help="The gate's code, e.g. GATE-R1.")],
             device: Annotated[str, typer.Option(help="The reader's name in [devices].")],
             inside: Annotated[str, typer.Option(help="The place inside the door (a location code).")],
             outside: Annotated[str, typer.Option(help="The place beyond the door (a location code).")],
             antenna: Annotated[list[str], typer.Option(help="NUMBER=inside or NUMBER=outside (repeat).")]) -> None:
    """Bind a reader to the door between two places (administrator or security officer)."""
    ensure_lang()
    actor = operator()
    gate = run(lambda: places.add_gate(store().uow(), actor, code, device, inside, outside, antenna))
    out.print(Text(say(f"Gate {gate} watches {inside} → {outside} with reader {device}.",
                       f"通道门 {gate} 已绑定读写器 {device}（{inside} → {outside}）。")))


@cabinet_app.command("add")
def cabinet_add(location: Annotated[str, typer.Argument(help="The cabinet, safe or shelf (a location code).")],
                device: Annotated[str, typer.Option(help="The reader's name in [devices].")],
                antenna: Annotated[list[int] | None, typer.Option(help="Antenna numbers inside (default 1).")]
                = None) -> None:
    """Make a storage place a smart cabinet read by a reader (administrator or security officer)."""
    ensure_lang()
    actor = operator()
    code = run(lambda: places.add_cabinet(store().uow(), actor, location, device, antenna or [1]))
    out.print(Text(say(f"Cabinet {code} is read by {device}.", f"智能柜 {code} 已绑定读写器 {device}。")))


def _list(kind: str, as_json: bool) -> None:
    ensure_lang()
    actor = operator()

    def fetch() -> list[places.PlaceView]:
        from tracker.services.common import actor_facts

        with store().uow(readonly=True) as uow:
            actor_facts(uow, actor, Action.MANAGE_LOCATIONS)
        return places.listing(store().uow(readonly=True), kind)

    rows = run(fetch)
    if as_json:
        print_json([_view(v) for v in rows])
        return
    title = say("Gates", "通道门") if kind == "gate" else say("Cabinets", "智能柜")
    table(title, [say("Code", "编号"), say("Reader", "读写器"), say("Inside", "门内/位置"), say("Outside", "门外"),
                  say("Antennas", "天线")],
          [[v.code, v.device, v.inside, v.outside or "", " ".join(f"{k}={s}" for k, s in v.antennas.items())]
           for v in rows])


@gate_app.command("list")
def gate_list(as_json: JsonFlag = False) -> None:
    """The gates and their readers."""
    _list("gate", as_json)


@cabinet_app.command("list")
def cabinet_list(as_json: JsonFlag = False) -> None:
    """The smart cabinets and their readers."""
    _list("cabinet", as_json)


@watch_app.command("log")
def watch_log(place: Annotated[str | None, typer.Option(help="One gate or cabinet.")] = None,
              limit: Annotated[int, typer.Option(help="How many entries, newest first.")] = 50,
              as_json: JsonFlag = False) -> None:
    """What the gates and cabinets saw: passes, alarms, foreign tags, take-outs, put-backs, silent tags."""
    ensure_lang()
    actor = operator()
    if limit < 1:
        fail(2, "--limit is at least 1.", "--limit 至少为 1。")

    def fetch() -> list[WatchEntry]:
        from sqlalchemy import select

        from tracker.schema import WatchEntry
        from tracker.services.common import actor_facts

        with store().uow(readonly=True) as uow:
            actor_facts(uow, actor, Action.AUDIT)
            q = select(WatchEntry).order_by(WatchEntry.id.desc()).limit(limit)
            if place:
                q = q.where(WatchEntry.place == place.strip().upper())
            rows = list(uow.session.execute(q).scalars())
            uow.session.expunge_all()
            return rows

    rows = run(fetch)
    if as_json:
        print_json([{"at": utc_iso(e.at), "place": e.place, "kind": e.kind, "epc": e.epc, "carrier": e.carrier,
                     "person": e.person, "direction": e.direction, "incident": e.incident,
                     "detail": json.loads(e.detail or "{}")} for e in rows])
        return
    table(say("Gate and cabinet log", "通道门与智能柜记录"),
          [say("Time", "时间"), say("Place", "位置"), say("What", "事项"), say("Carrier / tag", "载体/标签"),
           say("Person", "人员"), say("Dir.", "方向"), say("Incident", "事件")],
          [[when(e.at), e.place, e.kind, e.carrier or e.epc or "", e.person or "", e.direction or "",
            f"#{e.incident}" if e.incident else ""] for e in rows])


@watch_app.command("run")
def watch_run(config: Annotated[Path | None, typer.Option(help="tracker.toml with the [devices] table.")] = None,
              alarm_command: Annotated[str | None, typer.Option(help="A program run on each alarm (arguments "
                                                                     "allowed; no shell).")] = None,
              alarm_serial: Annotated[str | None, typer.Option(help="A serial URL that gets one line per alarm "
                                                                    "(light or buzzer).")] = None,
              door: Annotated[list[str] | None, typer.Option(help="CABINET=URL: the cabinet's door controller "
                                                                  "line (repeat).")] = None,
              pass_gap: Annotated[float, typer.Option(help="Seconds without a read that end a pass at a gate.")]
              = 2.0,
              interval: Annotated[float, typer.Option(help="Seconds between a closed cabinet's inventories.")]
              = 60.0,
              silent_after: Annotated[float, typer.Option(help="Seconds a tag may stay unheard in a closed "
                                                               "cabinet before it is an alert.")] = 180.0,
              seconds: Annotated[float, typer.Option(help="Stop after this many seconds (0: until Ctrl-C).")]
              = 0.0) -> None:
    """Run the gate and cabinet watchers for this machine's readers (security officer or administrator)."""
    from drivers.device_config import ConfigError
    from drivers.rfid.config import open_reader
    from tracker.watch.cabinets import CabinetWatcher, DoorLine
    from tracker.watch.gates import GateWatcher
    from tracker.watch.outputs import CommandHook, Output, Outputs, SerialLine

    ensure_lang()
    doors: dict[str, str] = {}
    for item in door or []:
        code, sep, url = item.partition("=")
        if not sep or not code.strip() or not url.strip():
            fail(2, f"--door {item!r}: write CABINET=URL.", f"--door {item!r}：请写作 柜编号=URL。")
        doors[code.strip().upper()] = url.strip()
    if min(pass_gap, interval, silent_after) <= 0 or seconds < 0:
        fail(2, "Times must be positive.", "时间须为正数。")
    try:
        argv = shlex.split(alarm_command) if alarm_command else []
    except ValueError as exc:
        fail(2, f"--alarm-command: {exc}.", f"--alarm-command 无法解析：{exc}。")
    actor = operator()

    def load() -> tuple[list[places.GateSpec], list[places.CabinetSpec]]:
        from tracker.services.common import actor_facts

        with store().uow(readonly=True) as uow:
            actor_facts(uow, actor, Action.MANAGE_LOCATIONS)
        return places.load(store().uow(readonly=True))

    gates, cabinets = run(load)
    unknown = sorted(set(doors) - {c.code for c in cabinets})
    if unknown:
        fail(2, f"--door names no cabinet: {', '.join(unknown)}.", f"--door 中的柜不存在：{'、'.join(unknown)}。")
    try:
        devices = {d.name: d for d in load_configured(config) if d.is_rfid}
    except (ConfigError, DomainError) as exc:
        raise device_fail(str(exc)) from None
    outs: list[Output] = ([CommandHook(argv)] if argv else []) + ([SerialLine(alarm_serial)] if alarm_serial else [])
    outputs = Outputs(outs)
    running: list[Any] = []
    for g in gates:
        if g.device in devices:
            gw = GateWatcher(store(), g, outputs, pass_gap=pass_gap).start()
            running += [gw, open_reader(devices[g.device], gw.sink).start()]
            out.print(Text(say(f"gate {g.code}: reader {g.device}", f"通道门 {g.code}：读写器 {g.device}")))
    for c in cabinets:
        if c.device in devices:
            cw = CabinetWatcher(store(), c, outputs, interval=interval, silent_after=silent_after).start()
            running += [cw, open_reader(devices[c.device], cw.sink).start()]
            if c.code in doors:
                running.append(DoorLine(doors[c.code], cw.sink).start())
            out.print(Text(say(f"cabinet {c.code}: reader {c.device}", f"智能柜 {c.code}：读写器 {c.device}")))
    for name, dev in [(g.code, g.device) for g in gates] + [(c.code, c.device) for c in cabinets]:
        if dev not in devices:
            out.print(Text(say(f"{name}: reader {dev} is not in [devices] here; not watched by this machine.",
                               f"{name}：本机 [devices] 中没有读写器 {dev}，本机不监控。")))
    if not running:
        fail(2, "No gate or cabinet has its reader configured in [devices] here.",
             "本机 [devices] 中没有任何通道门或智能柜的读写器。")
    stop = threading.Event()
    previous = {s: signal.signal(s, lambda *_: stop.set()) for s in (signal.SIGTERM, signal.SIGINT)}
    try:
        stop.wait(seconds or None)
    finally:
        for thing in reversed(running):
            thing.stop()
        outputs.close()
        for s, h in previous.items():
            signal.signal(s, h)
