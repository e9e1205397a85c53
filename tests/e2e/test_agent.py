"""The gateway agent against a real certsvc, no gateway needed: what it keeps and refuses."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from certsvc.agent.layout import GatewayFiles
from certsvc.agent.loop import FeedClient, GatewayAgent, Outcome
from certsvc.agent.targets import NginxGateway
from certsvc.clock import FixedClock
from tests.e2e.conftest import Stack, agent_cli, free_port, wait_until


@pytest.fixture
def files(stack: Stack, tmp_path: Path) -> GatewayFiles:
    (tmp_path / "chain.pem").write_bytes(stack.chain_pem())
    return GatewayFiles(tmp_path)


def agent_round(
    files: GatewayFiles, url: str, clock: FixedClock, token: str | None = None
) -> Outcome:
    gateway = NginxGateway(files, f"http://127.0.0.1:{free_port()}/certsvc-feed")
    client = FeedClient(url, timeout=2, token=token)
    return GatewayAgent(client, gateway, files, clock).run_once()


def snapshot(files: GatewayFiles) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in (files.crl_bundle, files.nginx_map)}


def test_first_round_writes_the_feed_and_the_second_costs_two_304s(stack: Stack, files):
    clock = FixedClock(stack.clock.now())
    first = agent_round(files, stack.url, clock, stack.token)
    assert first == Outcome("updated", "updated", "files written (nginx not running)")
    assert files.crl_bundle.read_bytes().count(b"-----BEGIN X509 CRL-----") == 2
    assert files.nginx_map.read_text().startswith("# certsvc allowlist version ")
    assert len(files.nginx_map.read_text().splitlines()) == 1 + len(stack.clients)

    second = agent_round(files, stack.url, clock, stack.token)
    assert second == Outcome("unchanged", "unchanged", "unchanged")


def test_unreachable_certsvc_keeps_the_last_good_files_and_warns_near_next_update(
    stack: Stack, files
):
    clock = FixedClock(stack.clock.now())
    assert agent_round(files, stack.url, clock, stack.token).ok
    kept = snapshot(files)
    next_update = json.loads(files.state.read_text())["crl_next_update"]
    dead = f"http://127.0.0.1:{free_port()}"

    clock.set(datetime.fromisoformat(next_update) - timedelta(hours=10))
    near = agent_round(files, dead, clock)

    assert near.crls.startswith("unreachable:")
    assert near.allowlist.startswith("unreachable:")
    assert near.gateway == "unchanged"
    assert near.warnings == (f"CRL nextUpdate in 10.0 h ({next_update}): refresh it",)
    assert snapshot(files) == kept

    clock.set(clock.now() + timedelta(hours=10))
    lapsed = agent_round(files, dead, clock)
    assert lapsed.warnings == (f"CRL EXPIRED at {next_update}: the gateway refuses EVERY client",)
    assert snapshot(files) == kept


def test_an_allowlist_going_back_is_refused_and_the_held_one_kept(stack: Stack, files):
    clock = FixedClock(stack.clock.now())
    assert agent_round(files, stack.url, clock, stack.token).ok
    kept = snapshot(files)
    state = json.loads(files.state.read_text())
    state.update(allow_version=state["allow_version"] + 1000, allow_etag=None)
    files.state.write_text(json.dumps(state))  # as if the gateway held a newer list

    outcome = agent_round(files, stack.url, clock, stack.token)

    assert outcome.allowlist.startswith("refused: the allowlist went back from version")
    assert outcome.crls == "unchanged"
    assert snapshot(files) == kept


def test_the_command_exits_non_zero_and_warns_when_certsvc_is_down(files):
    dead = f"http://127.0.0.1:{free_port()}"
    result = agent_cli("--once", "--nginx", str(files.directory), "--certsvc-url", dead)
    assert result.exit_code == 1
    assert "crls: unreachable:" in result.output
    assert "WARNING: the gateway holds no CRL from certsvc yet" in result.log
    assert not files.crl_bundle.exists()


def test_the_command_needs_exactly_one_gateway():
    result = agent_cli("--once")
    assert result.exit_code == 2
    assert "give exactly one of --nginx DIR or --haproxy-socket PATH" in result.log


def test_without_a_token_the_crls_come_and_the_allowlist_is_refused(stack: Stack, files):
    outcome = agent_round(files, stack.url, FixedClock(stack.clock.now()))
    assert outcome.crls == "updated"
    assert outcome.allowlist.startswith("unreachable: ")
    assert "HTTP 401 (no token given: the allowlist needs a gateway token" in outcome.allowlist
    assert not outcome.ok
    assert files.nginx_map.read_bytes() == b""  # an empty map: nobody is let in


def test_a_token_of_another_role_is_refused_with_403(stack: Stack, files):
    helpdesk = stack.services.tokens.create("helpdesk", "e2e-helpdesk-agent")
    clock = FixedClock(stack.clock.now())
    outcomes: list[Outcome] = []

    def refused_for_its_role() -> bool:  # 401 until certsvc's next poll learns the token
        outcomes.append(agent_round(files, stack.url, clock, helpdesk))
        return "HTTP 403" in outcomes[-1].allowlist

    wait_until(refused_for_its_role, "the new token in certsvc's memory")
    assert "HTTP 403 (token refused: the allowlist needs a gateway token" in outcomes[-1].allowlist
    assert all(helpdesk not in outcome.allowlist for outcome in outcomes)


def test_the_command_takes_the_token_from_a_file_or_the_environment_and_never_logs_it(
    stack: Stack, files
):
    common = ("--once", "--nginx", str(files.directory), "--certsvc-url", stack.url)
    by_file = agent_cli(*common, "--token-file", str(stack.token_file))
    assert "allowlist: updated" in by_file.output, by_file.output + by_file.log
    state = json.loads(files.state.read_text())
    state.update(allow_etag=None)
    files.state.write_text(json.dumps(state))  # make the next round fetch the list again
    by_env = agent_cli(*common, env={"CERTSVC_GATEWAY_TOKEN": stack.token})
    assert "allowlist: updated" in by_env.output, by_env.output + by_env.log
    for run in (by_file, by_env):
        assert stack.token not in run.output + run.log
    assert stack.token not in files.state.read_text()


def test_an_unreadable_token_file_is_a_clear_error(stack: Stack, files, tmp_path: Path):
    missing = agent_cli("--once", "--nginx", str(files.directory), "--token-file",
                        str(tmp_path / "nothing"))  # fmt: skip
    assert missing.exit_code != 0
    assert "cannot read the token file" in missing.log
    bad = tmp_path / "bad.token"
    bad.write_text('two "words"\n')
    refused = agent_cli("--once", "--nginx", str(files.directory), "--token-file", str(bad))
    assert refused.exit_code != 0
    assert "the token file must hold one API token" in refused.log
